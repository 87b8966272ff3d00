"""The Ollama dialect's generating routes: /api/chat and /api/generate (the model routes
are in ollama_info.py).

NDJSON streams (Ollama streams unless told `"stream": false`), thinking in
`message.thinking` (`thinking` on /api/generate), the `think` field honoured, so Ollama
clients work unchanged with OLLAMA_HOST pointed at localthink.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from localthink.chat import check_messages
from localthink.engine.protocol import (
    AnswerDelta,
    Done,
    Event,
    Message,
    ReplyStats,
    SamplingParams,
    ThinkDelta,
)
from localthink.errors import LocalthinkError
from localthink.models.resolve import LocalModel
from localthink.serve.endpoint import begin, collect
from localthink.serve.errors import ApiError
from localthink.serve.replies import ReplyGate, ReplyResponse
from localthink.serve.residency import parse_duration
from localthink.serve.sampling import SamplingFields
from localthink.serve.thinking import ollama_think
from localthink.serve.work import AppState, ChatRequest, TextRequest, chat_events, text_events

NDJSON = "application/x-ndjson"
DONE_REASON = {"done": "stop", "stopped": "stop", "length": "length", "context": "length"}


class Options(SamplingFields):
    """Ollama's `options` (num_ctx, mirostat…: accepted, not used)."""

    num_predict: int | None = None  # -1 / -2: no limit of its own


class Generating(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str | None = None
    stream: bool = True
    think: bool | Literal["low", "medium", "high"] | None = None
    options: Options | None = None
    keep_alive: str | int | float | None = None

    def params(self) -> SamplingParams:
        o = self.options or Options()
        if o.num_predict is not None and o.num_predict == 0:
            raise ApiError(400, "options.num_predict must not be 0")
        think_budget, no_think = ollama_think(self.think).budget()
        return o.sampling(
            max_tokens=o.num_predict if o.num_predict and o.num_predict > 0 else None,
            think_budget=think_budget,
            no_think=no_think,
        )

    def keep_alive_s(self) -> float | None | bool:
        if self.keep_alive is None:
            return False
        try:
            return parse_duration(self.keep_alive)
        except ValueError:
            raise ApiError(400, f"keep_alive {self.keep_alive!r} is not a duration") from None


class OllamaMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant"]
    content: str = ""
    thinking: str | None = None  # sent back by clients; never shown to the model
    images: list | None = None


class ChatBody(Generating):
    messages: list[OllamaMessage]


class GenerateBody(Generating):
    prompt: str = ""
    system: str | None = None
    raw: bool = False
    images: list | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _figures(stats: ReplyStats) -> dict:
    ns = 1_000_000_000
    return {
        "done_reason": DONE_REASON[stats.stop_reason],
        "total_duration": int(stats.total_s * ns),
        "load_duration": 0,
        "prompt_eval_count": stats.prompt_tokens_evaluated,
        "prompt_eval_duration": int(stats.ttft_s * ns),
        "eval_count": stats.gen_tokens,
        "eval_duration": int(max(0.0, stats.total_s - stats.ttft_s) * ns),
        "localthink": stats.to_dict(),
    }


def _line(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False) + "\n"


def router(app_state: AppState) -> APIRouter:
    r = APIRouter()

    find = app_state.slot.find  # an unknown name: the app's LocalthinkError handler, 404

    @r.post("/api/chat")
    async def chat(body: ChatBody, request: Request):
        model = find(body.model)
        params, keep_alive = body.params(), body.keep_alive_s()
        if not body.messages:  # Ollama's way to load a model: an empty chat
            return await _load_only(request, model, keep_alive, chat=True)
        if any(m.images for m in body.messages):
            raise ApiError(400, "images are not supported: these models read text only")
        messages = [Message(m.role, m.content) for m in body.messages]
        check_messages(messages)  # refused (400) before it waits in the queue
        work = ChatRequest(model, messages, params, keep_alive)
        events = await begin(request, app_state.gate, lambda c: chat_events(app_state, work, c))
        return await _answer(request, body.stream, events, model.name, True, app_state.gate)

    @r.post("/api/generate")
    async def generate(body: GenerateBody, request: Request):
        model = find(body.model)
        params, keep_alive = body.params(), body.keep_alive_s()
        if not body.prompt:  # Ollama's way to load (or, keep_alive 0, unload) a model
            return await _load_only(request, model, keep_alive, chat=False)
        if body.images:
            raise ApiError(400, "images are not supported: these models read text only")
        if body.raw:
            work = TextRequest(model, body.prompt, params, keep_alive)
            run = lambda c: text_events(app_state, work, c)  # noqa: E731
        else:
            system = [Message("system", body.system)] if body.system else []
            chat = ChatRequest(model, [*system, Message("user", body.prompt)], params, keep_alive)
            run = lambda c: chat_events(app_state, chat, c)  # noqa: E731
        events = await begin(request, app_state.gate, run)
        return await _answer(request, body.stream, events, model.name, False, app_state.gate)

    async def _load_only(request: Request, model: LocalModel, keep_alive, chat: bool):
        unloading = keep_alive is not False and keep_alive == 0  # False: not given

        def work(cancel):
            if unloading:
                app_state.slot.unload()
            else:
                app_state.slot.use(model, keep_alive)
            return iter(())

        await begin_plain(request, work)
        reason = "unload" if unloading else "load"
        out = {"model": model.name, "created_at": _now(), "done": True, "done_reason": reason}
        if chat:
            out["message"] = {"role": "assistant", "content": ""}
        else:
            out["response"] = ""
        return out

    async def begin_plain(request: Request, work) -> None:
        events = await begin(request, app_state.gate, lambda c: _with_done(work(c)))
        await collect(request, events)

    return r


def _with_done(events):
    yield from events
    yield Done("", "", ReplyStats())


async def _answer(
    request: Request,
    stream: bool,
    events: AsyncIterator[Event],
    name: str,
    chat: bool,
    gate: ReplyGate,
):
    if stream:
        return ReplyResponse(_lines(events, name, chat), gate.stopping, media_type=NDJSON)
    done = await collect(request, events)
    out = {"model": name, "created_at": _now(), "done": True, **_figures(done.stats)}
    if chat:
        out["message"] = {"role": "assistant", "content": done.answer}
        if done.thinking:
            out["message"]["thinking"] = done.thinking
    else:
        out["response"] = done.answer
        if done.thinking:
            out["thinking"] = done.thinking
    return out


async def _lines(events: AsyncIterator[Event], name: str, chat: bool) -> AsyncIterator[str]:
    def piece(content: str = "", thinking: str | None = None, done: bool = False) -> dict:
        out = {"model": name, "created_at": _now(), "done": done}
        if chat:
            out["message"] = {"role": "assistant", "content": content}
            if thinking is not None:
                out["message"]["thinking"] = thinking
        else:
            out["response"] = content
            if thinking is not None:
                out["thinking"] = thinking
        return out

    try:
        async with aclosing(events):
            async for event in events:
                if isinstance(event, ThinkDelta):
                    yield _line(piece(thinking=event.text))
                elif isinstance(event, AnswerDelta):
                    yield _line(piece(event.text))
                elif isinstance(event, Done):
                    yield _line({**piece(done=True), **_figures(event.stats)})
    except LocalthinkError as exc:  # llama.cpp failed mid-reply: Ollama ends with an error line
        yield _line({"error": str(exc)})
