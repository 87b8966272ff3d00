"""Build one reply from generated tokens: split it, count it, time it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from localthink.engine.protocol import (
    AnswerDelta,
    Done,
    Event,
    ReplyStats,
    StopReason,
    ThinkDelta,
    ThinkTags,
)
from localthink.engine.splitter import Phase, ThinkSplitter


class ReplyBuilder:
    """Feed it each generated token's text; it yields deltas and keeps the figures.

    A token counts as thinking when the splitter was or becomes inside the
    thinking block while reading it (so the closing tag's token is thinking);
    every other token is answer. Times come from a monotonic clock. With
    `split=False` (a plain completion) every token is answer text, passed on as is.
    """

    def __init__(
        self,
        prompt_tokens: int,
        prompt_tokens_evaluated: int,
        tags: ThinkTags = ThinkTags(),
        starts_inside: bool = False,
        clock: Callable[[], float] = time.perf_counter,
        split: bool = True,
    ) -> None:
        self.splitter = ThinkSplitter(tags, starts_inside)
        self.split = split
        self.clock = clock
        self.t_start = clock()
        self.t_first: float | None = None
        self.t_think_end: float | None = None
        self.t_last = self.t_start
        self.stats = ReplyStats(
            prompt_tokens=prompt_tokens, prompt_tokens_evaluated=prompt_tokens_evaluated
        )
        self.thinking: list[str] = []
        self.answer: list[str] = []

    def token(self, text: str, n_tokens: int = 1) -> Iterator[Event]:
        """Account for generated token(s) and yield the text they settle."""
        now = self.clock()
        if self.t_first is None:
            self.t_first = now
        self.t_last = now
        if not self.split:
            self.stats.answer_tokens += n_tokens
            yield from self._emit("", text)
            return
        before = self.splitter.phase
        thinking, answer = self.splitter.feed(text)
        after = self.splitter.phase
        if Phase.THINK in (before, after):
            self.stats.thinking_tokens += n_tokens
        else:
            self.stats.answer_tokens += n_tokens
        if before is Phase.THINK and after is not Phase.THINK:
            self.t_think_end = now
        yield from self._emit(thinking, answer)

    def finish(self, stop_reason: StopReason) -> Iterator[Event]:
        """Flush held text and yield the final Done with all figures."""
        yield from self._emit(*self.splitter.finish())
        end = self.clock()
        s = self.stats
        s.stop_reason = stop_reason
        s.thinking_closed = self.splitter.thinking_closed
        first = self.t_first if self.t_first is not None else end
        s.ttft_s = first - self.t_start
        s.total_s = end - self.t_start
        if s.thinking_tokens:
            think_end = self.t_think_end if self.t_think_end is not None else self.t_last
            s.thinking_s = think_end - first
            s.answer_s = max(0.0, self.t_last - think_end) if s.answer_tokens else 0.0
        elif self.t_first is not None:
            s.answer_s = self.t_last - first
        # else no token at all: no answer time (t_last - end was minus the prompt's time)
        gen = s.gen_tokens
        # The first token's time is prompt evaluation; rate the rest on their own.
        if gen > 1 and self.t_last > first:
            s.gen_tokens_per_s = (gen - 1) / (self.t_last - first)
        if s.prompt_tokens_evaluated and s.ttft_s > 0:
            s.prompt_tokens_per_s = s.prompt_tokens_evaluated / s.ttft_s
        yield Done("".join(self.thinking), "".join(self.answer), s)

    def _emit(self, thinking: str, answer: str) -> Iterator[Event]:
        if thinking:
            self.thinking.append(thinking)
            yield ThinkDelta(thinking)
        if answer:
            self.answer.append(answer)
            yield AnswerDelta(answer)
