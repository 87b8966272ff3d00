"""Choose llama.cpp's thread count while a reply is generated, from per-token times.

Why: llama.cpp's worker threads meet at a barrier many times per token, so when another
program takes a core one of them runs on, every token waits for the thread that lost its
core. On a 2-core machine with one core busy, `ask` made 26 tokens/s at 2 threads and 68
at 1; in the chat app (whose window process is one more program) 0.4-1.6 against 27-34.
The fastest count depends on what else runs, and that changes while we run.

What was looked at before writing this by hand:
- llama.cpp has no automatic count: `-t` defaults to the cores and stays. Its threadpool
  parameters (priority, polling, CPU mask) change how threads wait, not how many there
  are, and llama-cpp-python leaves `llama_attach_threadpool` unbound (a TODO in 0.3.36).
  What it does bind is `llama_set_n_threads(ctx, n, n_batch)`, which llama.cpp reads at
  every decode call: the one knob used here (the engine sets both counts; prompt
  evaluation follows the count generation found fastest, as llama.cpp's `-tb` follows
  `-t`; a prompt is evaluated once a reply, too seldom to search on its own).
- OMP_WAIT_POLICY=PASSIVE (this Linux build runs ggml's threads under OpenMP): waiting
  threads sleep instead of spinning, and 2 threads under load rose from 6-10 to 19-52
  tokens/s in a quick test, still below 1 thread's 45-69. Process-wide, read once when
  libgomp loads, absent from builds without OpenMP (macOS), its idle cost unmeasured:
  not used.
- Pinning the window and the engine to separate cores: Linux-only (macOS has no affinity
  API), and it leaves a core idle whenever the window is.
- A fixed rule of one thread below the cores in the chat app: on an idle 2-core machine
  the app made 78 tok/s at 1 thread against 90 at 2 (benchmarks/tui_startup.py).
So the app's engine starts one below and measures like any other.

The search: a pattern search over counts 1..most. Measure the current count, try a step
fewer (the cheap guess under load), then a step more; move while one is clearly faster,
halve the step, settle when neither neighbour wins. Counts are compared on mean token
time, which is what throughput follows (a window that draws every third token leaves the
median alone), with a margin no smaller than the times' own scatter. A settled count is
searched again when its median drifts (load came or went) and on a doubling interval (a
count may not slow down when load leaves; another only gets faster). A trial ends at its
first token when that is far slower, so a count that makes each token wait seconds costs
one token; and a search that lost L seconds against the count it settled on lets the
next start only after L / BUDGET more seconds of generation (unless the count turns
ABORT times slower), so searching costs at most BUDGET of the time, idle or not.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CENTRE_TOKENS = 8  # tokens timed at the count in use before any trial
CENTRE_SECONDS = 0.1  # ... or fewer when they already took this long (a stalled count)
TRIAL_TOKENS = 5  # tokens timed at a trial count, after one warm-up token
MARGIN = 0.04  # a trial must be this much faster to win, or more when times scatter more
ABORT = 3.0  # a trial token this many times slower than the count in use ends the trial
REJECT = 1.12  # ... and after two tokens each this much slower
ACCEPT = 1.5  # three trial tokens each this many times faster end it as a win
DRIFT = 1.35  # a settled count whose recent median moves this far is searched again
SLOW_RUN = 3  # ... at once when this many tokens in a row are ABORT times slower (not
# two: a window drawing a frame may hold up two tokens)
RECHECK_FIRST, RECHECK_MOST = 64, 2048  # tokens between re-checks of a settled count
# Decode seconds at a reply's start in which a settled count is not searched again. Beside
# the chat window, a reply's first tokens wait for the window putting the question and
# the reply on screen (~0.1 s of a core); read as load, that slowdown started a search at
# nearly every reply of the app's benchmark, with 6-9 tokens at 1 thread on a 2-core
# machine (found by logging the count per token). Load that comes with the reply is seen
# after it, by the same drift and stall checks.
START_GRACE = 0.3
BUDGET = 0.02  # share of generation time later searches may lose to slower counts


def spread(samples: list[float]) -> float:
    """How far token times stray from their median, as a share of it (MAD / median)."""
    if len(samples) < 3:
        return 0.0
    middle = statistics.median(samples)
    if middle <= 0:  # a clock too coarse to see a token
        return 0.0
    return statistics.median(abs(s - middle) for s in samples) / middle


class ThreadTuner:
    """Times single-token decodes and moves the thread count towards the fastest.

    `apply(n)` sets the count in llama.cpp; `clock` times each decode (a fake one in
    tests). With `adapt=False` (the user pinned the count) it only times and counts.
    """

    def __init__(
        self,
        most: int,
        apply: Callable[[int], None] = lambda n: None,
        *,
        start: int | None = None,
        adapt: bool = True,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.most = max(1, most)
        self.apply = apply
        self.adapt = adapt and self.most > 1
        self.clock = clock
        self.threads = max(1, min(start or self.most, self.most))
        self.used: Counter[int] = Counter()  # tokens per count in the current reply
        self.elapsed = 0.0  # decode time seen, the base of the search budget
        self.searches = 0
        self._recent: deque[float] = deque(maxlen=CENTRE_TOKENS)
        self._recheck = RECHECK_FIRST
        self._since = 0  # tokens since the last search settled
        self._allowed_at = 0.0  # `elapsed` before which no further search may start
        self._grace_end = 0.0  # `elapsed` before which a settled count is not watched
        self._begin_search(max(1, self.most // 2), {})
        self.apply(self.threads)

    @classmethod
    def for_engine(
        cls,
        pinned: int | None,
        cores: int,
        apply: Callable[[int], None],
        *,
        beside_window: bool = False,
    ) -> ThreadTuner:
        """The user's count stays as given; else adapt over 1..cores. Beside the chat
        window's process, start one below the cores: the window renders every token."""
        if pinned:
            return cls(pinned, apply, adapt=False)
        return cls(cores, apply, start=max(1, cores - 1) if beside_window else cores)

    def new_reply(self) -> None:
        """Start counting the tokens of a new reply (the search itself carries on)."""
        self.used.clear()
        self._grace_end = self.elapsed + START_GRACE

    def reply_threads(self) -> int:
        """The count that generated most of this reply's tokens."""
        return self.used.most_common(1)[0][0] if self.used else self.threads

    def decode(self, step: Callable[..., T], *args) -> T:
        """Run one single-token decode step, timing it; may change the count for the next."""
        started = self.clock()
        out = step(*args)
        self.record(self.clock() - started)
        return out

    def record(self, seconds: float) -> None:
        """One token's decode time at the current count."""
        self.used[self.threads] += 1
        self.elapsed += seconds
        if not self.adapt:
            return
        if self._trial is None and self._searching:
            self._measure_centre(seconds)
        elif self._trial is not None:
            self._measure_trial(seconds)
        else:
            self._watch(seconds)

    # -- the search -------------------------------------------------------------------

    def _begin_search(self, step: int, known: dict[int, list[float]]) -> None:
        self._searching = True
        self._step = step
        # per count, this search only: mean token time (what throughput follows: a window
        # that stalls every third token is slow, though its median is not), median (the
        # reference for drift, which single slow tokens should not trigger) and scatter
        self._known: dict[int, float] = {}
        self._middle: dict[int, float] = {}
        self._scatter: dict[int, float] = {}
        for count, samples in known.items():
            self._note(count, samples)
        self._centre = self.threads
        self._trial: int | None = None
        self._samples: list[float] = []
        self._times: list[float] = []  # every token of this search, to price it at the end
        self._from = self.threads
        self.searches += 1
        if self._centre in self._known:
            self._next_trial()

    def _measure_centre(self, seconds: float) -> None:
        self._samples.append(seconds)
        self._times.append(seconds)
        if len(self._samples) >= CENTRE_TOKENS or sum(self._samples) >= CENTRE_SECONDS:
            self._note(self._centre, self._samples)
            self._next_trial()

    def _note(self, count: int, samples: list[float]) -> None:
        self._known[count] = statistics.fmean(samples)
        self._middle[count] = statistics.median(samples)
        self._scatter[count] = spread(samples)

    def _measure_trial(self, seconds: float) -> None:
        pace = self._known[self._centre]
        self._times.append(seconds)
        if not self._warm:  # the first token after a switch: judged only when far off
            self._warm = True
            if seconds > ABORT * pace:
                self._end_trial([seconds])
            return
        self._samples.append(seconds)
        two = len(self._samples) >= 2
        lost = seconds > ABORT * pace or (two and min(self._samples) > REJECT * pace)
        won = len(self._samples) >= 3 and max(self._samples) * ACCEPT < pace
        if lost or won or len(self._samples) >= TRIAL_TOKENS:
            self._end_trial(self._samples)

    def _end_trial(self, samples: list[float]) -> None:
        trial, self._trial = self._trial, None
        self._note(trial, samples)
        # noisy times need a wider win: a move on noise costs until the next re-check
        margin = max(MARGIN, self._scatter[trial], self._scatter[self._centre])
        if self._known[trial] < self._known[self._centre] * (1 - margin):
            self._centre = trial  # keep the step: the next one that way may win too
        self._next_trial()

    def _next_trial(self) -> None:
        while True:
            for count in (self._centre - self._step, self._centre + self._step):
                if 1 <= count <= self.most and count not in self._known:
                    self._start_trial(count)
                    return
            if self._step == 1:
                self._settle()
                return
            self._step //= 2

    def _start_trial(self, count: int) -> None:
        self._trial, self._warm, self._samples = count, False, []
        self._set(count)

    def _settle(self) -> None:
        self._searching = False
        self._set(self._centre)
        self._reference = self._middle[self._centre]
        lost = max(0.0, sum(self._times) - len(self._times) * self._known[self._centre])
        self._recent.clear()
        self._since = 0
        # a re-check that kept the count waits twice as long next time; a move starts over
        self._recheck = (
            min(self._recheck * 2, RECHECK_MOST) if self._centre == self._from else RECHECK_FIRST
        )
        self._allowed_at = self.elapsed + lost / BUDGET

    def _watch(self, seconds: float) -> None:
        """Settled: search again when speed drifts, or when a re-check is due."""
        if self.elapsed < self._grace_end:
            return
        self._recent.append(seconds)
        self._since += 1
        last = list(self._recent)[-SLOW_RUN:]
        if len(last) == SLOW_RUN and min(last) > ABORT * self._reference:
            # far slower at once (a program took a core): no budget holds this back
            self._begin_search(max(1, self.most // 2), {self.threads: last})
            return
        if len(self._recent) < CENTRE_TOKENS or self.elapsed < self._allowed_at:
            return
        now = statistics.median(self._recent)
        drifted = not self._reference / DRIFT < now < self._reference * DRIFT
        if drifted:
            self._begin_search(max(1, self.most // 2), {self.threads: list(self._recent)})
        elif self._since >= self._recheck:
            self._begin_search(1, {self.threads: list(self._recent)})

    def _set(self, count: int) -> None:
        if count != self.threads:
            self.threads = count
            self.apply(count)
