"""Hand reply events from the generation thread to the UI without ever blocking it.

The worker must not wait on the UI (call_from_thread would throttle generation to
the frame rate), so it appends here and the app drains the buffer on a timer.
"""

from __future__ import annotations

import threading

from localthink.engine.protocol import Event


class EventBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._error: str | None = None

    def put(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def fail(self, message: str) -> None:
        with self._lock:
            self._error = message

    def take(self) -> tuple[list[Event], str | None]:
        with self._lock:
            events, self._events = self._events, []
            error, self._error = self._error, None
        return events, error
