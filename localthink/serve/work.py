"""What one API request runs in its reply thread: the model by name, then the same
Session → Engine → ThinkSplitter path as `ask` and the chat app.

The dialects (openai_api, ollama_api) only translate: a request becomes a `ChatRequest` or
`TextRequest`, and the events that come back become their wire format.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

from localthink.chat import session_from_messages
from localthink.engine.protocol import Event, Message, SamplingParams, ThinkTags
from localthink.errors import LocalthinkError
from localthink.models.resolve import LocalModel
from localthink.recording import RecordedReply
from localthink.serve.residency import ModelSlot
from localthink.store.db import Store


@dataclass
class ServerState:
    """What every request shares."""

    slot: ModelSlot
    store: Store | None = None  # --record: API replies are kept in the chat store


@dataclass(frozen=True)
class ChatRequest:
    model: LocalModel
    messages: list[Message]
    params: SamplingParams  # the request's own values; the model's defaults fill the rest
    keep_alive_s: float | None | bool = False  # False: the server's --keep-alive


@dataclass(frozen=True)
class TextRequest:
    """A plain completion: raw text in, raw text out, no template, no thinking split."""

    model: LocalModel
    prompt: str
    params: SamplingParams
    keep_alive_s: float | None | bool = False


def chat_events(
    state: ServerState, request: ChatRequest, cancel: threading.Event
) -> Iterator[Event]:
    """Stream a chat reply (runs in the reply thread, under the reply gate)."""
    opened = state.slot.use(request.model, request.keep_alive_s)
    params = opened.params(request.params)
    _check_max_tokens(params, opened.engine.info.n_ctx)
    tags = opened.entry.tags if opened.entry else ThinkTags()
    session, question = session_from_messages(opened.engine, params, request.messages, tags)
    session.system = opened.system_prompt(session.system)
    try:
        if state.store is None:
            yield from session.send(question, cancel)
        else:
            reply = RecordedReply(
                state.store, session, question, model=request.model.name, source="api"
            )
            yield from reply.events(cancel)
    finally:
        state.slot.touch()


def text_events(
    state: ServerState, request: TextRequest, cancel: threading.Event
) -> Iterator[Event]:
    """Stream a plain completion (runs in the reply thread, under the reply gate)."""
    opened = state.slot.use(request.model, request.keep_alive_s)
    params = opened.params(request.params)
    _check_max_tokens(params, opened.engine.info.n_ctx)
    # a plain completion has no thinking to budget
    params = replace(params, think_budget=None, min_think=None, no_think=False)
    try:
        yield from opened.engine.complete(request.prompt, params, cancel)
    finally:
        state.slot.touch()


def _check_max_tokens(params: SamplingParams, n_ctx: int) -> None:
    if params.max_tokens is not None and n_ctx and params.max_tokens > n_ctx:
        raise LocalthinkError(
            f"max_tokens {params.max_tokens} is past the model's context of {n_ctx} tokens"
        )
