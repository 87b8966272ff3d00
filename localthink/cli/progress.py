"""Progress of a long stage: a rich bar on a terminal, plain lines when stderr is not one
(a log, a CI job, `2> file`), so a run of many minutes is never silent."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


class StageProgress:
    """done/total, rate, ETA and a running accuracy for `label`.

    Off a terminal: a line after the first item (the stage is under way), then at most
    every `every_s` seconds, and at the end.
    """

    def __init__(
        self,
        label: str,
        total: int,
        unit: str = "samples",
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.every_s, self.clock = every_s, clock
        self.done = self.correct = 0
        self.started = self.last_line = clock()
        self._bar = None
        if sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[figures]}"),
                TimeRemainingColumn(),
            )
            self._task = self._bar.add_task(label, total=total, figures="")

    def __enter__(self) -> StageProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.done and self.last_line != self.clock():
            self._line()

    def figures(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else float("inf")
        accuracy = f"{self.correct / self.done:.0%}" if self.done else "-"
        return f"{rate:.2f} {self.unit}/s · {accuracy} correct so far · ETA {_duration(left)}"

    def advance(self, correct: bool) -> None:
        self.done += 1
        self.correct += bool(correct)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, figures=self.figures())
        elif self.done in (1, self.total) or self.clock() - self.last_line >= self.every_s:
            self._line()

    def _line(self) -> None:
        self.last_line = self.clock()
        print(
            f"{self.label}: {self.done}/{self.total} {self.unit} · {self.figures()}",
            file=sys.stderr,
            flush=True,
        )


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "-"
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
