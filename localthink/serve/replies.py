"""One reply at a time, the rest queued in order; a reply whose client goes away stops.

Generation is a blocking iterator (llama.cpp through Session); it runs in a thread of its
own and hands its events to the event loop one by one. The gate is held by the reply, not
by the request: it opens when the generating thread ends, so a cancelled reply cannot
overlap the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from localthink.engine.protocol import Event

T = TypeVar("T")
_END = object()


class QueueFull(Exception):
    """More requests wait than the server's --queue allows."""


class ClientGone(Exception):
    """The client closed its connection before its reply started."""


class ReplyGate:
    """First come, first served (asyncio.Lock wakes its waiters in order), `limit` waiting."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting = 0
        self._lock = asyncio.Lock()
        self.stopping = asyncio.Event()  # the server is shutting down: end every stream

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def enter(self) -> None:
        if self._lock.locked() and self.waiting >= self.limit:
            raise QueueFull
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1

    def leave(self) -> None:
        self._lock.release()

    async def drain(self) -> None:
        """Wait for the reply running now (the queue aside): the server is stopping."""
        await self._lock.acquire()


class Reply:
    """A reply generating in its own thread; iterate `events()` on the event loop."""

    def __init__(self, work: Callable[[threading.Event], Iterator[Event]], gate: ReplyGate):
        self.cancel = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._gate = gate
        threading.Thread(target=self._run, args=(work,), daemon=True, name="reply").start()

    def _run(self, work: Callable[[threading.Event], Iterator[Event]]) -> None:
        put = self._loop.call_soon_threadsafe
        try:
            for event in work(self.cancel):
                put(self._queue.put_nowait, event)
        except BaseException as exc:  # handed to the request, which answers with it
            put(self._queue.put_nowait, exc)
        finally:
            put(self._queue.put_nowait, _END)
            put(self._gate.leave)

    async def events(self) -> AsyncIterator[Event]:
        """The reply's events; an error in generation is raised here. Leaving early
        (a client gone) stops the generation at its next token."""
        try:
            while True:
                item = await self._queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.cancel.set()


async def start_reply(
    request: Request, gate: ReplyGate, work: Callable[[threading.Event], Iterator[Event]]
) -> Reply:
    """Wait for the gate (in order; QueueFull when too many wait), then start `work`."""
    await unless_gone(request, gate.enter())
    return Reply(work, gate)


async def unless_gone(request: Request, awaitable: Awaitable[T]) -> T:
    """Await `awaitable`, or raise ClientGone as soon as the client disconnects."""
    task = asyncio.ensure_future(awaitable)
    watcher = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        raise ClientGone
    return task.result()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class ReplyResponse(StreamingResponse):
    """Streams a reply and stops it the moment the client disconnects, whatever ASGI
    version the server speaks (Starlette listens for that only before ASGI 2.4), or
    when the server is stopping (`stopping` set: Ctrl+C on `localthink serve`)."""

    def __init__(self, content, stopping: asyncio.Event, media_type: str) -> None:
        super().__init__(content, media_type=media_type)
        self.stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.body_iterator
        sent: list[str] = []

        async def send_noting(message) -> None:
            sent.append(message["type"] if message.get("more_body", True) else "end")
            await send(message)

        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    with contextlib.suppress(OSError):  # the client went away mid-write
                        await self.stream_response(send_noting)
                    group.cancel_scope.cancel()

                async def until_stopping() -> None:
                    await self.stopping.wait()
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                group.start_soon(until_stopping)
                await _disconnected(receive)
                group.cancel_scope.cancel()
            if self.stopping.is_set() and "end" not in sent:  # end the cut stream cleanly
                with contextlib.suppress(OSError):
                    if not sent:
                        await send({"type": "http.response.start", "status": self.status_code,
                                    "headers": self.raw_headers})  # fmt: skip
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if hasattr(body, "aclose"):
                await body.aclose()
