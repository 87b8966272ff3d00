"""One assistant reply: a collapsible thinking block, the Markdown answer, a figures line."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.visual import VisualType
from textual.widgets import Collapsible, Markdown
from textual.widgets.collapsible import CollapsibleTitle

from localthink.engine.protocol import AnswerDelta, Done, Event, ReplyStats, ThinkDelta
from localthink.store.db import StoredMessage
from localthink.tui.widgets.live_text import LiveText
from localthink.tui.widgets.math_text import math_parser
from localthink.tui.widgets.sizing import LaidOutOnce, SizedStatic, rows_at

now = time.monotonic  # module-level so snapshot tests can freeze the live timer

STOP_WORDS = {"done": "done", "stopped": "stopped", "length": "length", "context": "context full"}
NARROW = 44  # below this many columns a reply's thinking header takes its short form
# While a reply streams, finished paragraphs go into the Markdown at most this often; the
# text after them shows as plain text until then. A Markdown append mounts a widget and lays
# out the whole screen: on a 2-core machine 25-60 ms in a new chat, 100-190 ms after 30
# turns, each a stall of the window and of the token llama.cpp was computing (at 1 s the
# app made ~0.80 of ask's tokens/s, at 3 s ~0.86 in the same interleaved run).
MARKDOWN_EVERY = 3.0
# ... and only once the plain text holds this many characters: a short answer becomes
# Markdown when it ends, after the engine is done, instead of stalling it once more (with
# the scrollbar that the longer Markdown often brings, 3 layouts and 150-250 ms of a
# 2-core machine in a new chat, measured: the window's CPU for a 200-token reply went
# from ~230 to ~390 ms whenever the reply outlasted MARKDOWN_EVERY)
MARKDOWN_AFTER = 1200


def figures_text(stats: ReplyStats | dict, status: str = "") -> str:
    """thinking vs answer tokens and their ratio, ttft, tok/s, CPU threads, stop reason."""
    f = stats.to_dict() if isinstance(stats, ReplyStats) else stats
    think, answer = f.get("thinking_tokens", 0), f.get("answer_tokens", 0)
    parts = [f"thinking {think} tok", f"answer {answer} tok"]
    if think and answer:
        parts.append(f"ratio {think / answer:.1f}:1")
    parts += [f"ttft {f.get('ttft_s', 0):.2f} s", f"{f.get('gen_tokens_per_s', 0):.1f} tok/s"]
    threads = f.get("threads", 0)  # 0: not known (a reply stored before it was kept)
    if threads:
        parts.append(f"{threads} thread" + ("s" if threads > 1 else ""))
    parts.append(status or STOP_WORDS.get(f.get("stop_reason", ""), "done"))
    return " · ".join(parts)


def no_answer_reason(figures: dict, thinking: str, answer: str) -> str:
    """Why a finished reply has no answer ("" when it has one)."""
    if answer.strip():
        return ""
    if not thinking.strip():
        return "the model returned nothing"
    if figures.get("stop_reason") == "stopped":
        return "no answer: stopped while thinking"
    if not figures.get("thinking_closed", True):
        return (
            f"no answer: thinking did not finish within {figures.get('thinking_tokens', 0)} tokens"
        )
    return "no answer: the model stopped right after thinking"


def thought_title(seconds: float, tokens: int | None, compact: bool = False) -> str:
    if compact:
        tail = f" · {tokens} tok" if tokens is not None else ""
        return f"Thought {seconds:.1f} s{tail}"
    tail = f" · {tokens} tokens" if tokens is not None else ""
    return f"Thought for {seconds:.1f} s{tail}"


class AnswerMarkdown(LaidOutOnce, Markdown):
    """The answer's Markdown, laid out once when mounted (sizing.py)."""


class ThinkingTitle(LaidOutOnce, CollapsibleTitle):
    """The thinking block's header. Its live timer ("Thinking… 12 s") changes the label
    every second for as long as the model thinks, and a Static's update lays out the whole
    screen (15-60 ms of a 2-core machine in a new chat): a label as wide as the one before
    only repaints the header."""

    _cells = -1  # the width of the label shown

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        cells = content.cell_length if isinstance(content, Content) else -1
        same = cells >= 0 and cells == self._cells
        self._cells = cells
        super().update(content, layout=layout and not same)


class ThinkingBlock(LaidOutOnce, Collapsible):
    """The model's reasoning: streams open under a live timer, then folds to one line."""

    class Contents(LaidOutOnce, Collapsible.Contents):
        """Grows with the trace (sizing.py)."""

    DEFAULT_CSS = """
    ThinkingBlock { border: none; padding: 0; margin: 0 0 0 0; background: transparent; }
    ThinkingBlock > Contents { padding: 0 0 0 2; }
    ThinkingBlock .thinking-text { color: $text-muted; }
    """

    def __init__(self, text: str = "", title: str = "Thinking…", collapsed: bool = False) -> None:
        self.body = LiveText(text, classes="thinking-text")
        super().__init__(self.body, title=title, collapsed=collapsed)
        # Collapsible makes its own header and offers no hook to choose its class
        self._title = ThinkingTitle(
            label=title, collapsed_symbol="▶", expanded_symbol="▼", collapsed=collapsed
        )


class ReplyView(LaidOutOnce, Vertical):
    """Renders a reply from engine events, or from a stored message."""

    DEFAULT_CSS = """
    ReplyView { height: auto; margin: 0 0 1 0; padding: 0 1; }
    ReplyView > Markdown { margin: 0; padding: 0; }
    ReplyView > .tail { margin: 0; padding: 0 1; }
    ReplyView > .figures { color: $text-muted; }
    ReplyView > .why { color: $warning; }
    """

    def __init__(
        self,
        thinking: str = "",
        answer: str = "",
        figures: str = "",
        *,
        collapsed: bool = False,
        title: str = "Thinking…",
        live: bool = True,
        why: str = "",
    ) -> None:
        super().__init__()
        self.thinking_parts = [thinking] if thinking else []
        self.answer_text = answer
        self.live = live
        # The live timer starts at the first token, as the engine's thinking_s does (it
        # counted prompt reading too, so 7.4 s live became "Thought for 0.4 s").
        self.started: float | None = None
        self.think_seconds: float | None = None
        self.thought: tuple[float, int | None] | None = None  # what the header shows when done
        self.thinking = ThinkingBlock(thinking, title, collapsed)
        parser = math_parser()  # one per reply: textual asks the factory on every append
        self.answer = AnswerMarkdown(answer, parser_factory=lambda: parser)
        self.tail = LiveText(classes="tail")  # streamed answer text not in the Markdown yet
        self.tail.display = live
        self.marked = len(answer)  # how much of answer_text the Markdown holds
        self.marked_at = 0.0  # when it last took streamed text
        self.why = SizedStatic(why, classes="why", markup=False)
        self.why.display = bool(why)
        self.figures = SizedStatic(figures, classes="figures", markup=False)
        self.done: Done | None = None
        self.live_notes_done = False  # the app's notices for this reply (turns left out)

    @classmethod
    def from_stored(cls, m: StoredMessage) -> ReplyView:
        f = m.figures
        status = "" if m.status == "complete" else m.status
        view = cls(
            m.thinking,
            m.content,
            figures_text(f, status) if f else status,
            collapsed=True,
            live=False,
            why=no_answer_reason(f, m.thinking, m.content) if f else "",
        )
        view.show_thought(f.get("thinking_s", 0), f.get("thinking_tokens"))
        view.thinking.display = bool(m.thinking)
        return view

    def compose(self) -> ComposeResult:
        yield self.thinking
        yield self.answer
        yield self.tail
        yield self.why
        yield self.figures

    def on_mount(self) -> None:
        if self.live:
            # twice a second: a new title lays out the whole screen (see LiveText)
            self._timer = self.set_interval(0.5, self._tick)

    def on_resize(self) -> None:
        if self.thought is not None:
            self.show_thought(*self.thought)

    def show_thought(self, seconds: float, tokens: int | None) -> None:
        """The folded header; shorter where the reply is narrow, never cut off."""
        self.thought = (seconds, tokens)
        compact = 0 < self.size.width < NARROW
        self.thinking.title = thought_title(seconds, tokens, compact)

    def _tick(self) -> None:
        if self.think_seconds is None and self.live:
            if self.started is None:
                self.thinking.title = "Reading the prompt…"
            else:
                self.thinking.title = f"Thinking… {now() - self.started:.0f} s"

    async def apply(self, events: list[Event]) -> None:
        """Render a batch of events (the app drains them from the worker 5-10 times a
        second); the log follows the reply's growth itself (ChatLog)."""
        thinking_changed, answer, done = False, [], None
        if self.started is None and events and not isinstance(events[0], Done):
            self.started = now()
            self._tick()
        for event in events:
            if isinstance(event, ThinkDelta):
                self.thinking_parts.append(event.text)
                thinking_changed = True
            elif isinstance(event, AnswerDelta):
                if self.think_seconds is None:
                    self._end_thinking()
                answer.append(event.text)
            elif isinstance(event, Done):
                done = event  # the last event: drawn after the text that came with it
        if thinking_changed:
            self.thinking.body.set_text("".join(self.thinking_parts))
        if answer:
            self.answer_text += "".join(answer)
            await self._stream_answer()
        if done is not None:
            await self._end_answer()
            self.finish(done)

    async def _stream_answer(self) -> None:
        """Finished paragraphs into the Markdown (every MARKDOWN_EVERY at most), the rest
        plain."""
        tail = self.answer_text[self.marked :]
        cut = tail.rfind("\n\n")
        marked = (
            cut >= 0 and now() - self.marked_at >= MARKDOWN_EVERY and len(tail) >= MARKDOWN_AFTER
        )
        if marked:
            self.marked_at = now()
            self.marked += cut + 2
            await self.answer.append(tail[: cut + 2])
            tail = tail[cut + 2 :]
        # joined paragraphs leave the tail: its rows are reserved again for what is left,
        # or the rows they took would stay blank under the reply while it streams
        self.tail.set_text(tail, shrink=marked)

    async def _end_answer(self) -> None:
        """The reply is over: all of the answer as Markdown, no plain tail."""
        rest = self.answer_text[self.marked :]
        self.marked = len(self.answer_text)
        if rest:
            await self.answer.append(rest)
        self.tail.text = ""
        self.tail.settle()  # frozen pieces go too
        self.tail.display = False
        self.thinking.body.settle()

    def _end_thinking(self) -> None:
        # the closing tag's tokens end thinking for the engine; its first answer text comes
        # with them or a token later (Done then brings the engine's own figure)
        end = now()
        self.think_seconds = end - (self.started if self.started is not None else end)
        self.marked_at = end  # the first paragraphs wait too: a short answer lays out once
        rows = self.thinking.outer_size.height
        if self.thinking_parts:
            self.show_thought(self.think_seconds, None)
            self.thinking.collapsed = True
            rows -= 1  # its header stays
        else:
            self.thinking.display = False
        self.tail.freeing = max(0, rows)  # the answer's to grow into (LiveText.freeing)
        self._room_for_answer()

    def _room_for_answer(self) -> None:
        """The answer's text takes the rows the reply holds (ChatLog.hold_room) under its
        other parts, in the layout that hides or folds the thinking block now."""
        held = self.styles.min_height
        if held is None or not self.tail.display or self.parent is None:
            return
        outer = self.parent.scrollable_content_region.width - self.styles.margin.width
        width = outer - self.styles.gutter.width
        viewport = self.app.size
        others = sum(
            rows_at(part, width, viewport) + part.styles.margin.height
            for part in self.displayed_children
            if part is not self.tail
        )
        expected = int(held.value) - self.styles.gutter.height - others
        self.tail.take_room(expected, width - self.tail.styles.gutter.width)

    def finish(self, done: Done, status: str = "") -> None:
        self.done = done
        self.live = False
        s = done.stats
        if self.think_seconds is None:
            self._end_thinking()
        if done.thinking:
            self.show_thought(s.thinking_s, s.thinking_tokens)
        why = no_answer_reason(s.to_dict(), done.thinking, done.answer)
        self.why.update(why)
        self.why.display = bool(why)
        self.figures.update(figures_text(s, status))

    async def fail(self, message: str) -> None:
        await self._end_answer()
        self.live = False
        self.figures.update(f"error: {message}")
