"""The chat app: sidebar of conversations, the chat, a message box, a status bar."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
from collections.abc import Callable, Iterable

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from localthink.chat import OpenedModel, Session
from localthink.engine.protocol import Done, ModelInfo, SamplingParams
from localthink.errors import LocalthinkError, StoreError
from localthink.store.db import Store, open_store
from localthink.tui.actions import KEYS, ChatActions, budget_label
from localthink.tui.conversation import ChatConversation
from localthink.tui.editing import ChatEditing
from localthink.tui.screen import ChatScreen
from localthink.tui.streaming import EventBuffer
from localthink.tui.widgets.chat_log import ChatLog
from localthink.tui.widgets.messages import EmptyState, UserMessage
from localthink.tui.widgets.prompt import PromptInput
from localthink.tui.widgets.reply import ReplyView
from localthink.tui.widgets.sidebar import Sidebar
from localthink.tui.widgets.status import StatusBar

Opener = Callable[[str | None], OpenedModel]

# How often streamed text reaches the screen: at 100 tok/s, ten tokens a frame. The first
# event and the end of a reply do not wait for the timer (see Wake). Where llama.cpp's
# threads hold every CPU the window could use, each frame holds up the token being computed
# (by 5-9 ms on a 2-core machine, ~3 ms of drawing), so the window draws half as often.
DRAIN_INTERVAL = 1 / 10
DRAIN_INTERVAL_CORES_HELD = 1 / 5
FOOTER_ACTIONS = ("stop", "new_chat", "pick_model", "help", "quit")
# the Markdown blocks an answer most often has, for _warm_up
WARM_ANSWER = "# h\n\ntext **b** `c`\n\n- item\n\n1. item\n\n```\ncode\n```\n\n> quote\n"


def frame_interval(info: ModelInfo, cpus: int | None = None) -> float:
    """Seconds between frames of a streaming reply: longer when generation on the CPU may
    use as many threads as this process has CPUs, leaving the window none of its own."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        cpus = cpus or os.cpu_count() or 1
    held = info.backend == "CPU" and info.cpu_threads >= cpus
    return DRAIN_INTERVAL_CORES_HELD if held else DRAIN_INTERVAL


class ChatApp(ChatConversation, ChatEditing, ChatActions, App):
    class Wake(Message):
        """From the generation thread: the first event or the end is in the buffer; drawing it
        now instead of at the next tick shows the first token and the figures up to 100 ms
        sooner (post_message is thread-safe and never blocks the generation thread)."""

    CSS_PATH = "app.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]  # narrow: the sidebar hides
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # short: dialogs hold fewer rows
    TITLE = "localthink"
    BINDINGS = [
        Binding(
            key, action, label, show=action in ("stop", "new_chat", "pick_model", "help", "quit")
        )
        for key, action, label, _ in KEYS
    ]

    def __init__(
        self,
        model_spec: str | None = None,
        *,
        load_options=None,
        params: SamplingParams = SamplingParams(),
        system: str | None = None,
        opener: Opener | None = None,
        store: Store | None = None,
    ) -> None:
        super().__init__()
        self.model_spec = model_spec
        self.load_options = load_options
        self.user_params = params
        self.system = system
        self.search = ""  # what the sidebar's search box holds
        self.opener = opener or self._open_real
        self.store = store
        self.opened: OpenedModel | None = None
        self.session: Session | None = None
        self.conversation_id: int | None = None
        self.cancel = threading.Event()
        self.buffer = EventBuffer()
        self._draining = asyncio.Lock()
        self.streaming: tuple[ReplyView, int] | None = None
        self.hide_thinking = False
        self.question_id: int | None = None  # the last question stored

    def _open_real(self, spec: str | None) -> OpenedModel:
        from localthink.chat import open_model

        return open_model(spec, self.load_options, subprocess=True)

    # layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield Sidebar()
            with Vertical(id="main"):
                with ChatLog(id="log"):
                    yield EmptyState(id="empty")
                yield PromptInput()
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        if self.store is None:
            self.store = open_store()
        self.refresh_sidebar()
        self.query_one(EmptyState).describe(self.model_spec or "default model", loaded=False)
        self.query_one(PromptInput).focus()
        self.query_one(StatusBar).budget = budget_label(self.chat_params())
        self._drain_timer = self.set_interval(DRAIN_INTERVAL, self.drain)
        self.load_model(self.model_spec)
        self.call_after_refresh(self._warm_up)

    async def _warm_up(self) -> None:
        """After the first frame, while the model loads: a turn like a reply's, mounted
        hidden and removed, so that the first question does not pay for Textual reading the
        stylesheet again. Each widget class's CSS joins the stylesheet when the class is
        first mounted, and then every rule is parsed anew: 15-25 ms of a 2-core machine at
        the first reply's start, beside llama.cpp's threads reading the prompt."""
        turn = Vertical(
            UserMessage("warm"),
            ReplyView("thinking", WARM_ANSWER, "figures", why="why"),
            id="warm-up",
        )
        turn.display = False
        await self.screen.mount(turn)
        await turn.remove()
        self._freeze_startup_objects()

    def _freeze_startup_objects(self) -> None:
        """Keep what startup made (modules, styles, the first screen) out of the garbage
        collector's full passes: on a 2-core machine one of them took 160-200 ms in the
        middle of a reply, a stall of the window and of llama.cpp's threads beside it."""
        gc.freeze()

    def get_default_screen(self) -> Screen:
        return ChatScreen(id="_default")  # a full layout arranges the chat once (screen.py)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, action, label, help_text in KEYS:
            yield SystemCommand(f"{label} ({key})", help_text, getattr(self, f"action_{action}"))

    # model

    @work(thread=True, exclusive=True, group="load")
    def load_model(self, spec: str | None) -> None:
        """Load in the background: the first frame never waits for llama.cpp."""
        try:
            opened = self.opener(spec)
        except LocalthinkError as exc:
            self.call_from_thread(self._load_failed, str(exc))
            return
        self.call_from_thread(self._model_ready, opened)

    def _load_failed(self, message: str) -> None:
        self.query_one(StatusBar).model = f"no model: {message}"
        self.notify(message, title="Model not loaded", severity="error", timeout=10)

    def _model_ready(self, opened: OpenedModel) -> None:
        if self.opened is not None:
            self.opened.engine.close()
        self.opened = opened
        info = opened.engine.info
        bar = self.query_one(StatusBar)
        bar.model, bar.quant, bar.backend, bar.ctx_size = (
            info.name,
            info.quant,
            info.backend,
            info.n_ctx,
        )
        if self.query("#empty"):
            self.query_one(EmptyState).describe(info.name, loaded=True)
        self._drain_timer.stop()
        self._drain_timer = self.set_interval(frame_interval(info), self.drain)
        self.session = self._session_for_current()
        if opened.warning:
            self.notify(opened.warning, title="Memory", severity="warning", timeout=10)
        if opened.template_notice:
            self.notify(opened.template_notice)

    # conversations

    def refresh_sidebar(self, search: str | None = None) -> None:
        """Reload the list; it keeps the search typed in its box unless given another."""
        if search is not None:
            self.search = search
        self.query_one(Sidebar).show(
            self.store.conversations(self.search), self.conversation_id, self.search
        )

    async def on_sidebar_selected(self, event: Sidebar.Selected) -> None:
        if self.streaming is None:
            await self.show_conversation(event.conversation_id)

    def on_sidebar_search_changed(self, event: Sidebar.SearchChanged) -> None:
        self.refresh_sidebar(event.text)

    # asking

    async def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        if self.editing is not None:
            await self.send_edited(event.text)
        else:
            await self.ask(event.text)

    async def ask(self, text: str, *, add_user: bool = True) -> None:
        if self.session is None:
            self.notify("The model is still loading.", severity="warning")
            return
        if self.streaming is not None:
            self.notify("A reply is still streaming (Esc stops it).", severity="warning")
            return
        new_chat = self.conversation_id is None
        try:
            message_id = self._store_question(text, add_user)
        except StoreError as exc:  # a full disk: nothing is sent, the question stays typed
            self.store_failed(exc)
            prompt = self.query_one(PromptInput)
            if add_user and not prompt.text:
                prompt.text = text
            return
        # The model starts before the question and the reply are on screen: mounting them
        # takes ~0.2 s of a 2-core machine, time the engine would otherwise wait out. Events
        # wait in the buffer until the reply is mounted (see _drain). Nothing is built
        # before the request either: a new chat's log cleared and the reply's widgets made
        # first took the request ~15 ms after Enter (benchmarks/busy_machine.py's case).
        self.cancel.clear()
        self.generate(text, message_id)
        view = ReplyView()
        self.streaming = (view, message_id)
        log = self.query_one(ChatLog)
        view.thinking.display = not self.hide_thinking
        with self.batch_update():  # one layout for the turn and the chat list
            self.refresh_sidebar()
            if new_chat:  # its empty-state note goes
                await log.remove_children()
            await log.mount_all([UserMessage(text, self.question_id), view] if add_user else [view])
            log.hold_room(view)  # the question to the top, the rows below it for the reply
        log.follow()  # a new question: to the end, wherever the user had scrolled
        # a blinking cursor repaints the prompt twice a second, CPU the engine's threads
        # wait for on a small machine; it stays on, still, while a reply streams
        self.query_one(PromptInput).cursor_blink = False
        await self.drain()  # what came while the reply was mounted

    def _store_question(self, text: str, add_user: bool) -> int:
        """The question and an empty 'streaming' reply row, in one commit (one write to
        disk before the request, not five) or not at all; returns the reply's id. A new
        chat's rows are made with them; its Session (no turns, this chat's settings) and
        what the screen shows stay as they are until ask() draws the turn."""
        info = self.opened.engine.info
        params = self.session.params
        with self.store.transaction():
            conversation_id = self.conversation_id
            if conversation_id is None:
                title = text.splitlines()[0][:48]
                conversation_id = self.store.new_conversation(title, info.name).id
                self.store_new_chat_settings(conversation_id)  # set (F4) before the question
            question_id = (
                self.store.add_message(conversation_id, "user", text)
                if add_user
                else self.question_id
            )
            message_id = self.store.add_message(
                conversation_id,
                "assistant",
                model=info.name,
                params=params.__dict__,
                status="streaming",
            )
            self.store.set_outcome(
                message_id,
                think_budget=params.think_budget,
                min_think=params.min_think,
                no_think=int(params.no_think or params.think_budget == 0),
            )
        self.conversation_id, self.question_id = conversation_id, question_id
        return message_id

    def generate(self, text: str, message_id: int) -> None:
        """Run the reply in a thread of its own, started now; the UI drains its events.

        Not a Textual worker: a thread worker starts when the event loop next runs, and then
        waits for the GIL while the turn is mounted; with one, the request reached the engine
        ~33 ms after Enter, with this ~15 ms (measured), time a short reply's tokens/s pays
        for. Not a daemon: at exit the reply stops (on_unmount sets `cancel`) and is stored."""
        threading.Thread(target=self._generate, args=(text, message_id), name="generate").start()

    def _generate(self, text: str, message_id: int) -> None:
        from localthink.store.reply_writer import ReplyWriter

        def not_saved(reason: str) -> None:  # once per reply; the reply itself goes on
            with contextlib.suppress(RuntimeError):  # the app has exited
                self.call_from_thread(
                    self.notify, reason, title="This reply is not being saved", severity="warning"
                )

        writer = ReplyWriter(self.store, message_id, on_error=not_saved)
        try:
            for i, event in enumerate(self.session.send(text, self.cancel)):
                writer.on_event(event)
                self.buffer.put(event)
                if i == 0 or isinstance(event, Done):
                    self.post_message(self.Wake())
        except LocalthinkError as exc:
            writer.fail("error")
            self.buffer.fail(str(exc))
            self.post_message(self.Wake())

    async def on_chat_app_wake(self, _: Wake) -> None:
        await self.drain()

    async def drain(self) -> None:
        async with self._draining:  # the timer and a Wake must not apply batches out of order
            await self._drain()

    async def _drain(self) -> None:
        if self.streaming is None:
            return
        view, message_id = self.streaming
        if not view.is_mounted:  # ask() is still putting it on screen; it drains after
            return
        events, error = self.buffer.take()
        if events:
            if not view.live_notes_done:
                view.live_notes_done = True
                await self.note_left_out(view)
            await view.apply(events)  # the log follows its growth (ChatLog)
        done = next((e for e in events if isinstance(e, Done)), None)
        if done is not None or error is not None:
            if error is not None:
                await view.fail(error)
                self.notify(error, severity="error")
            else:
                bar = self.query_one(StatusBar)
                bar.ctx_used = done.stats.prompt_tokens + done.stats.gen_tokens
                bar.threads = done.stats.threads
            self.streaming = None
            self.query_one(PromptInput).cursor_blink = True
            self.refresh_sidebar()

    def on_unmount(self) -> None:
        self.cancel.set()
