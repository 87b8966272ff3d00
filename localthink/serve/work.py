"""What one API request runs in its reply thread: the model by name, then the same
Session → Engine → ThinkSplitter path as `ask` and the chat app.

The dialects (openai_api, ollama_api) only translate: a request becomes a `ChatRequest` or
`TextRequest`, and the events that come back become their wire format.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from localthink.chat import session_from_messages
from localthink.engine.protocol import Event, Message, SamplingParams, ThinkTags
from localthink.errors import LocalthinkError
from localthink.models.resolve import LocalModel
from localthink.recording import RecordedReply
from localthink.serve.replies import ReplyGate
from localthink.serve.residency import ModelSlot
from localthink.store.db import Store


@dataclass
class AppState:
    """What every request shares: the model slot, the reply gate, the store if recording."""

    slot: ModelSlot
    gate: ReplyGate
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


@contextmanager
def _loaded(state: AppState, request: ChatRequest | TextRequest):
    """The request's model (loaded if needed) and its params over the model's defaults;
    the keep-alive counts from when the reply ends."""
    opened = state.slot.use(request.model, request.keep_alive_s)
    params = opened.params(request.params)
    n_ctx = opened.engine.info.n_ctx
    if params.max_tokens is not None and n_ctx and params.max_tokens > n_ctx:
        raise LocalthinkError(
            f"max_tokens {params.max_tokens} is past the model's context of {n_ctx} tokens"
        )
    try:
        yield opened, params
    finally:
        state.slot.touch()


def chat_events(state: AppState, request: ChatRequest, cancel: threading.Event) -> Iterator[Event]:
    """Stream a chat reply (runs in the reply thread, under the reply gate)."""
    with _loaded(state, request) as (opened, params):
        tags = opened.entry.tags if opened.entry else ThinkTags()
        session, question = session_from_messages(opened.engine, params, request.messages, tags)
        session.system = opened.system_prompt(session.system)
        if state.store is None:
            yield from session.send(question, cancel)
        else:
            reply = RecordedReply(
                state.store, session, question, model=request.model.name, source="api"
            )
            yield from reply.events(cancel)


def text_events(state: AppState, request: TextRequest, cancel: threading.Event) -> Iterator[Event]:
    """Stream a plain completion (runs in the reply thread, under the reply gate)."""
    with _loaded(state, request) as (opened, params):
        # a plain completion has no thinking to budget
        params = replace(params, think_budget=None, min_think=None, no_think=False)
        yield from opened.engine.complete(request.prompt, params, cancel)
