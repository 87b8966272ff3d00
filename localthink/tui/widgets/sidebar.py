"""Conversations, newest first, with a search box."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, ListItem, ListView, Static

from localthink.store.db import Conversation


class ConversationItem(ListItem):
    def __init__(self, conversation: Conversation) -> None:
        super().__init__(Label(conversation.title, markup=False))
        self.conversation = conversation


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
        yield ListView(id="conversations")
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
        lv.clear()
        items = [ConversationItem(c) for c in conversations]
        lv.extend(items)
        for i, item in enumerate(items):
            if item.conversation.id == current:
                lv.index = i

    def highlighted_id(self) -> int | None:
        item = self.query_one(ListView).highlighted_child
        return item.conversation.id if isinstance(item, ConversationItem) else None

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ConversationItem):
            self.post_message(self.Selected(event.item.conversation.id))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.SearchChanged(event.value))
