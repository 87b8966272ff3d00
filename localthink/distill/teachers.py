"""Teachers that write reasoning traces: any OpenAI-compatible server, or a local GGUF."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from localthink.engine.protocol import Message, SamplingParams
from localthink.engine.splitter import split_reply
from localthink.errors import LocalthinkError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class TeacherUnavailable(LocalthinkError):
    """The teacher cannot be reached or keeps failing: the run stops, keeping what it has."""


class Cancelled(Exception):
    """The run is stopping: the sample in progress is dropped, and asked again on resume."""


@dataclass(frozen=True)
class Sample:
    thinking: str
    answer: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    seconds: float
    thinking_closed: bool = True


class Teacher(Protocol):
    name: str
    concurrency_limit: int | None  # None: as many as asked

    def sample(
        self,
        prompt: str,
        params: SamplingParams,
        seed: int,
        cancel: threading.Event | None = None,
    ) -> Sample: ...


class OpenAITeacher:
    """POST /chat/completions on any OpenAI-compatible server (DeepSeek, vLLM, llama.cpp…)."""

    concurrency_limit = None

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        retries: int = 5,
        timeout: float = 600.0,
        backoff: float = 1.0,
    ) -> None:
        import httpx

        self.name = f"openai:{base_url}"
        self.model = model
        key = os.environ.get(api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.retries, self.backoff, self.timeout = retries, backoff, timeout

    def _post(self, body: dict, cancel: threading.Event | None = None) -> dict:
        import httpx

        cancel = cancel or threading.Event()
        for attempt in range(self.retries + 1):
            if cancel.is_set():
                raise Cancelled
            try:
                r = self.client.post("/chat/completions", json=body)
                if r.status_code not in RETRY_STATUS:
                    if r.status_code >= 400:
                        raise TeacherUnavailable(
                            f"{self.name} refused: HTTP {r.status_code} {r.text[:120]}"
                        )
                    return r.json()
                wait = float(r.headers.get("Retry-After", 0) or 0)
                reason = f"HTTP {r.status_code}"
            except httpx.TimeoutException:  # a slow teacher may answer the next time
                wait, reason = 0.0, f"no reply within {self.timeout:g} s, see --timeout"
            except (httpx.TransportError, ValueError) as exc:  # refused, dropped, bad JSON
                wait, reason = 0.0, type(exc).__name__
            if attempt == self.retries:
                raise TeacherUnavailable(
                    f"{self.name} failed {self.retries + 1} times (last: {reason})"
                )
            # exponential backoff with jitter, at least what the server asked for
            if cancel.wait(max(wait, self.backoff * 2**attempt * (0.5 + random.random() / 2))):
                raise Cancelled
        raise AssertionError("unreachable")

    def sample(
        self,
        prompt: str,
        params: SamplingParams,
        seed: int,
        cancel: threading.Event | None = None,
    ) -> Sample:
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "seed": seed,
            "stream": False,
        }
        for key, name in (
            ("temperature", "temperature"),
            ("top_p", "top_p"),
            ("max_tokens", "max_tokens"),
        ):
            value = getattr(params, key)
            if value is not None:
                body[name] = value
        started = time.perf_counter()
        data = self._post(body, cancel)
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise TeacherUnavailable(f"{self.name} sent a reply without choices") from None
        content = message.get("content") or ""
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning:  # the server split the thinking out itself (DeepSeek API, vLLM, …)
            thinking, answer, closed = reasoning.strip(), content.strip(), True
        else:
            split = split_reply(content)
            thinking, answer, closed = split.thinking, split.answer, split.thinking_closed
        usage = data.get("usage") or {}
        return Sample(
            thinking,
            answer,
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
            choice.get("finish_reason") or "stop",
            time.perf_counter() - started,
            closed,
        )


class GGUFTeacher:
    """A local GGUF through localthink's own engine (one sample at a time)."""

    concurrency_limit = 1

    def __init__(self, spec: str) -> None:
        from localthink.chat import open_model

        self.opened = open_model(spec)
        self.name = f"gguf:{self.opened.resolved.model.name}"

    def sample(
        self,
        prompt: str,
        params: SamplingParams,
        seed: int,
        cancel: threading.Event | None = None,
    ) -> Sample:
        from dataclasses import replace

        from localthink.engine.protocol import Done

        p = replace(self.opened.params(params), seed=seed)
        started = time.perf_counter()
        done = [
            e
            for e in self.opened.engine.stream([Message("user", prompt)], p, cancel)
            if isinstance(e, Done)
        ][0]
        s = done.stats
        if s.stop_reason == "stopped":  # a half trace is no trace
            raise Cancelled
        return Sample(
            done.thinking,
            done.answer,
            s.prompt_tokens,
            s.gen_tokens,
            "length" if s.stop_reason == "length" else "stop",
            time.perf_counter() - started,
            s.thinking_closed,
        )


def make_teacher(spec: str, model: str | None, retries: int = 5, timeout: float = 600.0) -> Teacher:
    """`openai:URL` (needs --model) or `gguf:PATH_OR_NAME`; `timeout` is per openai: request."""
    kind, _, rest = spec.partition(":")
    if kind == "openai" and rest:
        if not model:
            raise LocalthinkError("an openai: teacher needs --model (the server's model name)")
        return OpenAITeacher(rest, model, retries=retries, timeout=timeout)
    if kind == "gguf" and rest:
        return GGUFTeacher(rest)
    raise LocalthinkError(f"--teacher {spec!r}: expected openai:URL or gguf:PATH_OR_NAME")
