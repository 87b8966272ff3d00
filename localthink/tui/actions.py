"""The chat app's key actions (every one is also in the command palette), as a mixin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from localthink.errors import StoreError
from localthink.tui.widgets.prompt import PromptInput
from localthink.tui.widgets.reply import ReplyView
from localthink.tui.widgets.status import StatusBar

KEYS = [
    ("escape", "stop", "Stop reply", "Stop generating; the partial reply is kept, marked stopped"),
    ("ctrl+n", "new_chat", "New chat", "Start a new conversation"),
    ("ctrl+t", "fold_thinking", "Fold thinking", "Collapse or expand every thinking block"),
    ("ctrl+e", "hide_thinking", "Hide thinking", "Hide thinking blocks entirely, or show them"),
    ("ctrl+r", "regenerate", "Regenerate", "Ask for the last reply again"),
    ("ctrl+y", "copy_answer", "Copy answer", "Copy the last answer to the clipboard"),
    ("ctrl+o", "pick_model", "Model", "Switch to another local model"),
    ("ctrl+f", "search", "Search", "Search conversations by text"),
    ("f2", "rename_chat", "Rename", "Rename the current conversation"),
    ("ctrl+delete", "delete_chat", "Delete chat", "Delete the current conversation"),
    ("f4", "chat_settings", "Settings", "This chat's system prompt, sampling and thinking budget"),
    ("ctrl+b", "cycle_budget", "Budget", "Thinking budget: unlimited → none → 256 → 1024 tokens"),
    ("f3", "stats", "Stats", "Thinking vs answer tokens, per query and per model"),
    ("ctrl+l", "toggle_sidebar", "Chats", "Show or hide the list of chats (hidden when narrow)"),
    ("f1", "help", "Help", "List every key binding"),
    ("ctrl+q", "quit", "Quit", "Quit (every chat is already saved)"),
]
# keys of the message box and of a focused message (for F1; they are not app-wide)
MESSAGE_KEYS = [
    ("up", "In an empty message box: edit the last question (Enter resends it)"),
    ("e", "On a focused question (Shift+Tab, click): edit it; sent, it forks a new chat"),
    ("v", "On a focused question: its earlier versions, kept when it was edited"),
]
BUDGETS: list[int | None] = [None, 0, 256, 1024]


def budget_label(params) -> str:
    """What the status bar says of the thinking controls ("" when there are none)."""
    if params.no_think or params.think_budget == 0:
        label = "no thinking"
    elif params.think_budget is not None:
        label = f"{params.think_budget} tokens"
    else:
        label = ""
    if params.min_think and label != "no thinking":
        label = ", ".join(x for x in (label, f"at least {params.min_think}") if x)
    return label


class ChatActions:
    """Mixed into ChatApp: uses its store, session, streaming state and widgets."""

    def saved(self, write: Callable[[], object]) -> bool:
        """Run a store write; a failure (a full disk) is a notice, never a crash."""
        try:
            write()
        except StoreError as exc:
            self.store_failed(exc)
            return False
        return True

    def store_failed(self, exc: StoreError) -> None:
        self.notify(str(exc), title="Cannot save the chat", severity="error", timeout=10)

    def action_stop(self) -> None:
        if self.streaming is not None:
            self.cancel.set()
        elif self.editing is not None:
            self.cancel_edit()

    async def action_new_chat(self) -> None:
        if self.streaming is None:
            await self.show_conversation(None)
            self.refresh_sidebar()
            self.query_one(PromptInput).focus()

    def action_fold_thinking(self) -> None:
        views = list(self.query(ReplyView))
        fold = not all(v.thinking.collapsed for v in views)
        for v in views:
            v.thinking.collapsed = fold

    def action_hide_thinking(self) -> None:
        self.hide_thinking = not self.hide_thinking
        self._apply_thinking_visibility()

    def _apply_thinking_visibility(self) -> None:
        for v in self.query(ReplyView):
            v.thinking.display = not self.hide_thinking and bool(v.thinking_parts or v.live)

    async def action_regenerate(self) -> None:
        if self.streaming is not None or self.session is None or self.conversation_id is None:
            return
        # The store, not the session, says what the last exchange was: a reply that failed
        # (an error, no Done) never became a session turn, but it is the one to ask again.
        stored = self.store.messages(self.conversation_id)
        if len(stored) < 2 or stored[-1].role != "assistant" or stored[-2].role != "user":
            return
        reply, question = stored[-1], stored[-2].content
        if not self.saved(lambda: self.store.delete_message(reply.id)):
            return
        views = list(self.query(ReplyView))
        if views:
            await views[-1].remove()
        session = self._session_for_current()  # every turn before this question
        if session is not None:
            session.params = self.session.params
            self.session = session
        await self.ask(question, add_user=False)

    def action_copy_answer(self) -> None:
        views = [v for v in self.query(ReplyView) if v.answer_text]
        if views:
            self.copy_to_clipboard(views[-1].answer_text)
            self.notify("Answer copied.")

    def action_pick_model(self) -> None:
        from localthink.models.resolve import local_models, pullable_models
        from localthink.tui.screens.model_picker import ModelPicker, Pullable

        current = self.opened.engine.info.name if self.opened else ""

        def chosen(path: str | None) -> None:
            if path and self.streaming is None:
                self.session = None
                self.query_one(StatusBar).model = f"loading {path}…"
                self.load_model(path)

        pullable = [Pullable(entry, q) for entry, q in pullable_models()]
        self.push_screen(ModelPicker(local_models(), current, pullable), chosen)

    def action_search(self) -> None:
        self.query_one("#search").focus()

    def action_rename_chat(self) -> None:
        from localthink.tui.screens.rename import RenameScreen

        if self.conversation_id is None:
            return
        conv_id = self.conversation_id

        def renamed(title: str | None) -> None:
            if title and self.saved(lambda: self.store.rename(conv_id, title)):
                self.refresh_sidebar()

        self.push_screen(RenameScreen(self.store.conversation(conv_id).title), renamed)

    async def action_delete_chat(self) -> None:
        if self.conversation_id is None or self.streaming is not None:
            return
        if not self.saved(lambda: self.store.delete(self.conversation_id)):
            return
        await self.show_conversation(None)
        self.refresh_sidebar()
        self.notify("Conversation deleted.")

    def action_cycle_budget(self) -> None:
        current = self.chat_params().think_budget
        i = BUDGETS.index(current) if current in BUDGETS else 0
        budget = BUDGETS[(i + 1) % len(BUDGETS)]
        # the key steps through the caps; a --no-think from the command line gives way to them
        self.user_params = replace(self.user_params, think_budget=budget, no_think=False)
        if {"think_budget", "no_think"} & set(self.settings):  # the chat's own (F4) follow
            self.settings = {
                **{k: v for k, v in self.settings.items() if k != "no_think"},
                "think_budget": budget,
            }
            if self.conversation_id is not None:
                from localthink.store.chat_settings import set_chat_settings

                conv, settings = self.conversation_id, self.settings
                self.saved(lambda: set_chat_settings(self.store, conv, settings))
        if self.session is not None:
            self.session.params = replace(self.session.params, think_budget=budget, no_think=False)
        label = budget_label(self.chat_params())
        self.query_one(StatusBar).budget = label
        self.notify(f"Thinking budget: {label or 'unlimited'}")

    def action_toggle_sidebar(self) -> None:
        from localthink.tui.widgets.sidebar import Sidebar

        self.query_one(Sidebar).toggle()

    def action_stats(self) -> None:
        from localthink.tui.screens.stats import StatsScreen

        self.push_screen(StatsScreen(self.store, self.conversation_id))

    def action_help(self) -> None:
        from localthink.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen([(k, d) for k, _, _, d in KEYS] + MESSAGE_KEYS))
