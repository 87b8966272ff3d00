"""The OpenAI dialect: /v1/chat/completions, /v1/completions, /v1/models.

Thinking travels as DeepSeek's API sends it: `reasoning_content` beside `content`, in
the message and in stream deltas; `usage.completion_tokens_details.reasoning_tokens`
counts it. localthink's own figures (`ask --json`'s stats) ride along as `localthink`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from localthink.chat import check_messages
from localthink.engine.protocol import AnswerDelta, Done, Event, Message, SamplingParams, ThinkDelta
from localthink.errors import LocalthinkError
from localthink.serve.endpoint import begin, collect
from localthink.serve.errors import ApiError, api_error, error_body
from localthink.serve.replies import ReplyResponse
from localthink.serve.sampling import SamplingFields
from localthink.serve.thinking import ThinkingControls
from localthink.serve.work import AppState, ChatRequest, TextRequest, chat_events, text_events

FINISH = {"done": "stop", "stopped": "stop", "length": "length", "context": "length"}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None
    reasoning_content: str | None = None  # sent back by clients; never shown to the model

    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        if any(part.type != "text" for part in self.content):
            raise ApiError(400, "only text content is supported (no images or audio)")
        return "".join(part.text or "" for part in self.content)


class StreamOptions(BaseModel):
    include_usage: bool = False


class Sampling(SamplingFields):
    """What both endpoints take (top_k, min_p, repeat_penalty: llama-server's extras)."""

    model: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1, le=1)

    def params(self, think_budget: int | None = None, no_think: bool = False) -> SamplingParams:
        return self.sampling(
            max_tokens=self.max_completion_tokens or self.max_tokens,
            think_budget=think_budget,
            no_think=no_think,
        )


class ChatCompletionRequest(Sampling):
    messages: list[ChatMessage]
    reasoning_effort: str | None = None
    thinking_budget_tokens: int | None = Field(None, ge=-1)
    chat_template_kwargs: dict | None = None


class CompletionRequest(Sampling):
    prompt: str | list[str]


def _usage(stats) -> dict:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.gen_tokens,
        "total_tokens": stats.prompt_tokens + stats.gen_tokens,
        "completion_tokens_details": {"reasoning_tokens": stats.thinking_tokens},
    }


def _sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def router(app_state: AppState) -> APIRouter:
    r = APIRouter()

    @r.get("/v1/models")
    async def models() -> dict:
        created = int(time.time())
        return {
            "object": "list",
            "data": [
                {"id": m.name, "object": "model", "created": created, "owned_by": "localthink"}
                for m in app_state.slot.available()
            ],
        }

    @r.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        kwargs = body.chat_template_kwargs or {}
        enabled = kwargs.get("enable_thinking")
        controls = ThinkingControls(
            effort=body.reasoning_effort,
            budget_tokens=body.thinking_budget_tokens,
            enabled=enabled if isinstance(enabled, bool) else None,
        )
        # a LocalthinkError here is the app's to answer: 404 for a model, else 400
        think_budget, no_think = controls.budget()
        model = app_state.slot.find(body.model)
        messages = [
            Message("system" if m.role == "developer" else m.role, m.text()) for m in body.messages
        ]
        check_messages(messages)  # refused before it waits in the queue
        work = ChatRequest(model, messages, body.params(think_budget, no_think))
        events = await begin(request, app_state.gate, lambda c: chat_events(app_state, work, c))
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        head = {"id": reply_id, "created": created, "model": model.name}
        if body.stream:
            chunk = {**head, "object": "chat.completion.chunk"}
            return _stream(body, request, events, chunk, _chat_choice, app_state.gate.stopping)
        done = await collect(request, events)
        message = {"role": "assistant", "content": done.answer}
        if done.thinking:
            message["reasoning_content"] = done.thinking
        return {
            **head,
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": message, "finish_reason": FINISH[done.stats.stop_reason]}
            ],
            "usage": _usage(done.stats),
            "localthink": done.stats.to_dict(),
        }

    @r.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request):
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        if len(prompts) != 1:
            raise ApiError(400, "prompt must be one string (batches are not supported)")
        model = app_state.slot.find(body.model)
        work = TextRequest(model, prompts[0], body.params())
        events = await begin(request, app_state.gate, lambda c: text_events(app_state, work, c))
        head = {"id": f"cmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model.name}
        if body.stream:
            chunk = {**head, "object": "text_completion"}
            return _stream(body, request, events, chunk, _text_choice, app_state.gate.stopping)
        done = await collect(request, events)
        return {
            **head,
            "object": "text_completion",
            "choices": [
                {
                    "index": 0,
                    "text": done.answer,
                    "logprobs": None,
                    "finish_reason": FINISH[done.stats.stop_reason],
                }
            ],
            "usage": _usage(done.stats),
            "localthink": done.stats.to_dict(),
        }

    return r


def _chat_choice(text: dict, finish: str | None) -> dict:
    return {"index": 0, "delta": text, "finish_reason": finish}


def _text_choice(text: dict, finish: str | None) -> dict:
    return {"index": 0, "text": text.get("content", ""), "logprobs": None, "finish_reason": finish}


async def _chunks(
    events: AsyncIterator[Event], chunk: dict, choice, usage: bool, path: str
) -> AsyncIterator[str]:
    """SSE chunks of a reply: `choice` shapes a delta for chat or plain completions (a
    plain completion has no thinking to send)."""

    def piece(delta: dict, finish: str | None = None, **extra) -> str:
        return _sse({**chunk, "choices": [choice(delta, finish)], **extra})

    if choice is _chat_choice:
        yield piece({"role": "assistant", "content": ""})
    try:
        async with aclosing(events):
            async for event in events:
                if isinstance(event, ThinkDelta) and choice is _chat_choice:
                    yield piece({"reasoning_content": event.text})
                elif isinstance(event, AnswerDelta):
                    yield piece({"content": event.text})
                elif isinstance(event, Done):
                    stats = event.stats
                    yield piece({}, FINISH[stats.stop_reason], localthink=stats.to_dict())
                    if usage:
                        yield _sse({**chunk, "choices": [], "usage": _usage(stats)})
    except LocalthinkError as exc:  # llama.cpp failed mid-reply: say so in the stream
        yield _sse(error_body(path, api_error(exc)))
    yield _sse("[DONE]")


def _stream(body: Sampling, request: Request, events, chunk: dict, choice, stopping):
    usage = bool(body.stream_options and body.stream_options.include_usage)
    return ReplyResponse(
        _chunks(events, chunk, choice, usage, request.url.path),
        stopping,
        media_type="text/event-stream",
    )
