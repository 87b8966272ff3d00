"""Conversations, newest first, with a search box."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Label, ListItem, ListView, Static

from localthink.store.db import Conversation
from localthink.tui.widgets.sizing import DrawnByLayout, LaidOutOnce


class ChatTitle(LaidOutOnce, Label):
    """A chat's title in the list (sizing.py)."""


class ConversationItem(LaidOutOnce, ListItem):
    """A chat in the list; a new one is laid out once when mounted (sizing.py)."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__(ChatTitle(conversation.title, markup=False))
        self.conversation = conversation


class ChatList(DrawnByLayout, ListView):
    """The chats, newest first. A chat put at the top, or another highlighted, draws the
    items that moved or changed, not all of the list's rows (sizing.py): the highlight is
    the items' own (ListItem.highlighted repaints each)."""

    index = reactive[int | None](None, init=False, repaint=False)


class Sidebar(Vertical):
    DEFAULT_CSS = """
    Sidebar { width: 30; dock: left; border-right: solid $panel-lighten-2; }
    Sidebar > Input { margin: 0; }
    Sidebar > ListView { height: 1fr; }
    Sidebar > #no-match { color: $text-muted; padding: 0 1; }
    Sidebar.-closed { display: none; }
    """

    BINDINGS = [
        Binding("delete", "app.delete_chat", "Delete chat"),
        Binding("f2", "app.rename_chat", "Rename"),
    ]

    @dataclass
    class Selected(Message):
        conversation_id: int

    @dataclass
    class SearchChanged(Message):
        text: str

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Search chats (Ctrl+F)", id="search")
        yield ChatList(id="conversations")
        yield Static("", id="no-match", markup=False)

    def toggle(self) -> None:
        """Show it if hidden, else hide it: on a narrow screen for as long as it stays
        narrow (-open), on a wide one until shown again (-closed)."""
        if self.screen.has_class("-narrow"):
            self.toggle_class("-open")
        else:
            self.toggle_class("-closed")

    def show(
        self, conversations: list[Conversation], current: int | None, search: str = ""
    ) -> None:
        note = self.query_one("#no-match", Static)
        note.update(f"No chat mentions {search!r}." if search and not conversations else "")
        note.display = bool(search and not conversations)
        lv = self.query_one(ListView)
        items = self._reuse(lv, conversations)
        if items is None:  # another order (a search): build the list again
            lv.clear()
            items = [ConversationItem(c) for c in conversations]
            lv.extend(items)
        wanted = next((i for i, it in enumerate(items) if it.conversation.id == current), None)
        if wanted is not None:
            lv.index = wanted
        # the index names a position: a chat put at the top where the highlighted one was
        # left the index as it was, the highlight on the chat moved down, and none on the new
        for i, item in enumerate(items):
            item.highlighted = i == lv.index

    def _reuse(self, lv: ListView, conversations: list[Conversation]) -> list | None:
        """Keep the items already shown when the list only gained chats or moved some to
        the top (a new chat, a question in an older one): the app shows the list again
        when a reply starts and ends, and mounting an item per chat each time cost the
        engine's threads tens of milliseconds of a 2-core machine. None: rebuild."""
        old = list(lv.query_children(ConversationItem))
        wanted = [c.id for c in conversations]
        for top in range(min(len(wanted), 4) + 1):  # chats at the top that are new or moved
            below = set(wanted[top:])
            if [i.conversation.id for i in old if i.conversation.id in below] == wanted[top:]:
                break
        else:
            return None
        by_id = {i.conversation.id: i for i in old}
        if len(set(wanted) & {i.conversation.id for i in old}) < len(old):
            return None  # a chat went (deleted): its removal would shift the highlight
        for c in reversed(conversations[:top]):
            if c.id in by_id:
                lv.move_child(by_id[c.id], before=0)
            else:
                by_id[c.id] = ConversationItem(c)
                lv.insert(0, [by_id[c.id]])
        items = [by_id[c.id] for c in conversations]
        for item, c in zip(items, conversations, strict=True):
            if item.conversation.title != c.title:
                item.query_one(Label).update(c.title)
            item.conversation = c
        return items

    def highlighted_id(self) -> int | None:
        item = self.query_one(ListView).highlighted_child
        return item.conversation.id if isinstance(item, ConversationItem) else None

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ConversationItem):
            self.post_message(self.Selected(event.item.conversation.id))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.SearchChanged(event.value))
