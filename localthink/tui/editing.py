"""Edit and resend, as a mixin of the chat app.

Up in an empty message box, or E on a focused question, puts the question back in the
box. Sent again, the last question replaces its turn (the old one stays in the store as
an earlier version, V on the question shows it); an earlier question forks the chat into
a new one, "Title (edited)", with the turns before it, leaving the original untouched.
"""

from __future__ import annotations

from textual.containers import VerticalScroll

from localthink.errors import StoreError
from localthink.store.edits import earlier_versions, fork_conversation, resend_question
from localthink.tui.widgets.messages import UserMessage
from localthink.tui.widgets.prompt import PromptInput

EDITING_LAST = "editing · Enter resends · Esc cancels"
EDITING_EARLIER = "editing · Enter sends it in a new chat · Esc cancels"


class ChatEditing:
    """Mixed into ChatApp: uses its store, session, log and ask()."""

    editing: int | None = None  # the question being edited

    def on_prompt_input_edit_last(self, _: PromptInput.EditLast) -> None:
        questions = self._questions()
        if questions and self.streaming is None:
            self.start_edit(questions[-1].id, questions[-1].content)

    def on_user_message_edit_requested(self, event: UserMessage.EditRequested) -> None:
        if self.streaming is None:
            self.start_edit(event.question_id, event.text)

    def on_user_message_versions_requested(self, event: UserMessage.VersionsRequested) -> None:
        from localthink.tui.screens.versions import VersionsScreen

        self.push_screen(VersionsScreen(earlier_versions(self.store, event.question_id)))

    def _questions(self):
        if self.conversation_id is None:
            return []
        return [m for m in self.store.messages(self.conversation_id) if m.role == "user"]

    def start_edit(self, question_id: int, text: str) -> None:
        self.editing = question_id
        last = self._questions()[-1].id == question_id
        prompt = self.query_one(PromptInput)
        prompt.load_text(text)
        prompt.move_cursor(prompt.document.end)
        prompt.border_title = EDITING_LAST if last else EDITING_EARLIER
        prompt.focus()

    def cancel_edit(self, clear: bool = True) -> None:
        self.editing = None
        prompt = self.query_one(PromptInput)
        prompt.border_title = None
        if clear:
            prompt.clear()

    async def send_edited(self, text: str) -> None:
        question_id = self.editing
        self.cancel_edit(clear=False)
        if self.session is None or self.streaming is not None or question_id is None:
            return
        questions = self._questions()
        try:
            if questions and questions[-1].id == question_id:
                await self._resend_last(question_id, text)
            else:
                title = f"{self.store.conversation(self.conversation_id).title} (edited)"
                fork = fork_conversation(self.store, self.conversation_id, question_id, title)
                await self.show_conversation(fork.id)
                self.refresh_sidebar()
                await self.ask(text)
        except StoreError as exc:  # a full disk: the edited text stays in the box
            self.store_failed(exc)
            self.query_one(PromptInput).text = text

    async def _resend_last(self, question_id: int, text: str) -> None:
        new_id = resend_question(self.store, self.conversation_id, question_id, text)
        log = self.query_one("#log", VerticalScroll)
        children = list(log.children)
        start = next(
            i for i, w in enumerate(children)
            if isinstance(w, UserMessage) and w.question_id == question_id
        )  # fmt: skip
        await log.remove_children(children[start:])
        versions = len(earlier_versions(self.store, new_id))
        await log.mount(UserMessage(text, new_id, versions))
        params = self.session.params
        self.session = self._session_for_current()  # the turns before the edited one
        self.session.params = params
        await self.ask(text, add_user=False)
