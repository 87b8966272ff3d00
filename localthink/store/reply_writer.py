"""Write a streaming reply to the store as it grows, at most once a second."""

from __future__ import annotations

import time
from collections.abc import Callable

from localthink.engine.protocol import AnswerDelta, Done, Event, ThinkDelta
from localthink.errors import StoreError
from localthink.store.db import Store

STATUS_BY_STOP = {
    "done": "complete",
    "stopped": "stopped",
    "length": "truncated",
    "context": "truncated",
}


class ReplyWriter:
    """Feed it the reply's events; it keeps the stored row at most `interval` seconds behind.

    A failed write (a full disk) never stops the reply: the error is kept in `error`,
    `on_error` hears of it once, and the next write tries again (space may come back).
    """

    def __init__(
        self,
        store: Store,
        message_id: int,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.message_id = message_id
        self.interval = interval
        self.clock = clock
        self.on_error = on_error
        self.thinking: list[str] = []
        self.answer: list[str] = []
        self._last_write = clock()
        self.writes = 0
        self.error: str | None = None  # set while the stored row lags behind the reply

    def on_event(self, event: Event) -> None:
        if isinstance(event, ThinkDelta):
            self.thinking.append(event.text)
        elif isinstance(event, AnswerDelta):
            self.answer.append(event.text)
        elif isinstance(event, Done):
            self.finish(event)
            return
        if self.clock() - self._last_write >= self.interval:
            self._write("streaming")

    def finish(self, done: Done) -> None:
        status = STATUS_BY_STOP.get(done.stats.stop_reason, "complete")
        self.thinking, self.answer = [done.thinking], [done.answer]
        self._write(status, done.stats.to_dict())

    def fail(self, status: str = "error") -> None:
        """The reply ended without a Done (an engine error): keep what came, marked."""
        self._write(status)

    def _write(self, status: str, figures: dict | None = None) -> None:
        self._last_write = self.clock()
        try:
            self.store.update_reply(
                self.message_id, "".join(self.thinking), "".join(self.answer), status, figures
            )
        except StoreError as exc:
            if self.error is None and self.on_error is not None:
                self.on_error(str(exc))
            self.error = str(exc)
            return
        self.error = None
        self.writes += 1
