"""The conversation on screen and the Session that continues it, as a mixin of the app:
its messages, its own settings (F4), and what the context holds of it."""

from __future__ import annotations

from dataclasses import replace

from localthink.chat import Session, Turn
from localthink.engine.protocol import ReplyStats, SamplingParams
from localthink.store.chat_settings import chat_settings, set_chat_settings
from localthink.store.edits import earlier_versions
from localthink.tui.widgets.chat_log import ChatLog
from localthink.tui.widgets.messages import ContextNotice, EmptyState, UserMessage
from localthink.tui.widgets.reply import ReplyView
from localthink.tui.widgets.status import StatusBar

SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "think_budget", "no_think")


class ChatConversation:
    """Mixed into ChatApp: uses its store, opened model, user params and widgets."""

    settings: dict = {}  # this chat's own (F4); a new chat's are stored with its first question

    def chat_params(self) -> SamplingParams:
        """The command line's params with this chat's settings over them."""
        own = {k: v for k, v in self.settings.items() if k in SAMPLING_KEYS}
        return replace(self.user_params, **own)

    def _session_for_current(self) -> Session | None:
        from localthink.tui.actions import budget_label

        params = self.chat_params()
        self.query_one(StatusBar).budget = budget_label(params)
        if self.opened is None:
            return None
        system = self.settings.get("system", self.system)
        session = Session(
            self.opened.engine, self.opened.params(params), self.opened.system_prompt(system)
        )
        if self.conversation_id is not None:
            pending: str | None = None
            for m in self.store.messages(self.conversation_id):
                if m.role == "user":
                    pending = m.content
                elif pending is not None:
                    session.turns.append(Turn(pending, m.thinking, m.content, ReplyStats()))
                    pending = None
        return session

    async def show_conversation(self, conversation_id: int | None) -> None:
        self.conversation_id = conversation_id
        self.settings = (
            {} if conversation_id is None else chat_settings(self.store, conversation_id)
        )
        log = self.query_one(ChatLog)
        log.release_room()
        await log.remove_children()
        if conversation_id is None:
            empty = EmptyState(id="empty")
            await log.mount(empty)
            empty.describe(
                self.opened.engine.info.name if self.opened else "model", self.opened is not None
            )
        else:
            widgets = [
                UserMessage(m.content, m.id, len(earlier_versions(self.store, m.id)))
                if m.role == "user"
                else ReplyView.from_stored(m)
                for m in self.store.messages(conversation_id)
            ]
            await log.mount_all(widgets)
            self._apply_thinking_visibility()
            log.follow()
        self.session = self._session_for_current()
        bar = self.query_one(StatusBar)
        bar.ctx_used, bar.left_out = self._context_used(conversation_id), 0

    def _context_used(self, conversation_id: int | None) -> int:
        """What the last reply of a reopened chat filled of the context (0 for a new chat)."""
        if conversation_id is None:
            return 0
        for m in reversed(self.store.messages(conversation_id)):
            f = m.figures
            if m.role == "assistant" and "prompt_tokens" in f:
                return f["prompt_tokens"] + f.get("thinking_tokens", 0) + f.get("answer_tokens", 0)
        return 0

    async def note_left_out(self, view: ReplyView) -> None:
        """Say once per change, above the reply, how many turns the prompt left out."""
        left_out = getattr(self.session, "turns_left_out", 0)
        bar = self.query_one(StatusBar)
        if left_out != bar.left_out:
            bar.left_out = left_out
            # one notice, above the reply where it last changed: a long chat slides its
            # window a turn at a time, and a notice per turn would bury the conversation
            await self.query(ContextNotice).remove()
            if left_out:
                turns = "1 earlier turn is" if left_out == 1 else f"{left_out} earlier turns are"
                log = self.query_one(ChatLog)
                await log.mount(ContextNotice(f"{turns} outside the model's context"), before=view)
                log.hold_room(view)  # the notice joined the turn's rows above the reply

    # F4

    def action_chat_settings(self) -> None:
        from localthink.tui.screens.chat_settings import ChatSettingsScreen

        # what a blank field gives: the command line's value, else the model's registry one
        entry = self.opened.entry if self.opened else None
        defaults = {k: str(v) for k, v in (entry.sampling if entry else {}).items()}
        given = {k: getattr(self.user_params, k) for k in SAMPLING_KEYS if k != "no_think"}
        defaults |= {k: str(v) for k, v in given.items() if v is not None}
        if self.system:
            defaults["system"] = self.system
        if entry is not None and not entry.system_prompt:
            defaults["system"] = "none (model advises against one)"
        model = self.opened.engine.info.name if self.opened else "no model yet"
        self.push_screen(ChatSettingsScreen(self.settings, defaults, model), self.apply_settings)

    def apply_settings(self, settings: dict | None) -> None:
        if settings is None or self.streaming is not None:
            return
        if self.conversation_id is not None and not self.saved(
            lambda: set_chat_settings(self.store, self.conversation_id, settings)
        ):
            return
        self.settings = settings
        turns = self.session.turns if self.session else []
        self.session = self._session_for_current()
        if self.session is not None:
            self.session.turns = turns
        self.notify("Settings saved for this chat." if self.conversation_id else "Settings set.")

    def store_new_chat_settings(self, conversation_id: int) -> None:
        """A new chat's settings, set before its first question, go with it into the store."""
        if self.settings:
            set_chat_settings(self.store, conversation_id, self.settings)
