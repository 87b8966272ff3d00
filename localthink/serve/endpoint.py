"""The steps every generating endpoint takes, whatever its dialect.

Wait for the reply gate, start the reply, and hold the response until its first event:
an error before any text (unknown model, prompt too long, max_tokens past the context)
is then still an HTTP error with the right status, not a broken stream.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator

from starlette.requests import Request

from localthink.engine.protocol import Done, Event
from localthink.errors import LocalthinkError
from localthink.serve.errors import ApiError, api_error
from localthink.serve.replies import QueueFull, ReplyGate, start_reply, unless_gone

RETRY_AFTER_S = 2


async def begin(
    request: Request, gate: ReplyGate, work: Callable[[threading.Event], Iterator[Event]]
) -> AsyncIterator[Event]:
    """The reply's events, its first one already in (ClientGone if the client left)."""
    try:
        reply = await start_reply(request, gate, work)
    except QueueFull:
        raise ApiError(
            503,
            f"the server is busy: {gate.limit} requests are already waiting (--queue)",
            "queue_full",
            {"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    events = reply.events()
    try:
        first = await unless_gone(request, anext(events))
    except LocalthinkError as exc:
        raise api_error(exc) from None
    return _chain(first, events, reply.cancel)


async def _chain(
    first: Event, rest: AsyncIterator[Event], cancel: threading.Event
) -> AsyncIterator[Event]:
    try:
        yield first
        if not isinstance(first, Done):
            async for event in rest:
                yield event
    finally:  # the response stopped reading (a client gone): stop generating
        cancel.set()
        await rest.aclose()


async def collect(request: Request, events: AsyncIterator[Event]) -> Done:
    """A whole reply, for a request that did not ask for a stream."""

    async def last() -> Done:
        async for event in events:
            if isinstance(event, Done):
                return event
        raise LocalthinkError("the reply ended without its figures")

    try:
        return await unless_gone(request, last())
    finally:
        await events.aclose()
