"""Teachers that write reasoning traces: any OpenAI-compatible server, or a local GGUF."""

from __future__ import annotations

import json
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


class _Retry(Exception):
    """A failure worth asking again: `wait` is what the server asked for, if anything."""

    def __init__(self, reason: str, wait: float = 0.0) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


@dataclass
class _Reply:
    content: str
    reasoning: str
    usage: dict
    finish_reason: str
    chunks: int = 0  # streamed deltas with text: a token count when usage is missing


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
        stream: bool = True,
    ) -> None:
        import httpx

        self.name = f"openai:{base_url}"
        self.model = model
        key = os.environ.get(api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        # httpx's read timeout is per read: streamed, it is the longest silence between chunks
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.stream = stream

    def _check(self, r) -> None:
        """Raise for an HTTP error: `_Retry` for one that may pass, else one line."""
        if r.status_code in RETRY_STATUS:
            raise _Retry(f"HTTP {r.status_code}", float(r.headers.get("Retry-After", 0) or 0))
        if r.status_code >= 400:
            raise TeacherUnavailable(f"{self.name} refused: HTTP {r.status_code} {r.text[:120]}")

    def _complete(self, body: dict, cancel: threading.Event) -> _Reply:
        r = self.client.post("/chat/completions", json=body)
        self._check(r)
        data = r.json()
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise TeacherUnavailable(f"{self.name} sent a reply without choices") from None
        return _Reply(
            message.get("content") or "",
            message.get("reasoning_content") or message.get("reasoning") or "",
            data.get("usage") or {},
            choice.get("finish_reason") or "stop",
        )

    def _stream(self, body: dict, cancel: threading.Event) -> _Reply:
        """Read server-sent events; a stream without a finish_reason is cut short: ask again."""
        content: list[str] = []
        reasoning: list[str] = []
        usage: dict = {}
        finish, done, chunks = None, False, 0
        with self.client.stream("POST", "/chat/completions", json=body) as r:
            if r.status_code >= 400:
                r.read()
                self._check(r)
            for line in r.iter_lines():
                if cancel.is_set():  # between chunks, so Ctrl-C stops a long reply midway
                    raise Cancelled
                if not line.startswith("data:"):  # blank lines, `: keep-alive`, `event:`
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    done = True
                    break
                chunk = json.loads(payload)
                if not isinstance(chunk, dict):
                    raise ValueError("a chunk that is not an object")
                if chunk.get("error"):  # vLLM and llama.cpp report failures mid-stream so
                    raise _Retry(f"error mid-reply: {str(chunk['error'])[:80]}")
                usage = chunk.get("usage") or usage
                for choice in (chunk.get("choices") or [])[:1]:
                    delta = choice.get("delta") or {}
                    text = delta.get("content") or ""
                    thought = delta.get("reasoning_content") or delta.get("reasoning") or ""
                    content.append(text)
                    reasoning.append(thought)
                    chunks += bool(text or thought)
                    finish = choice.get("finish_reason") or finish
        if finish is None:  # llama-cpp-python's server ends a stream it interrupts with [DONE]
            raise _Retry("the server ended the stream early" if done else "the stream broke off")
        return _Reply("".join(content), "".join(reasoning), usage, finish, chunks)

    def _ask(self, body: dict, cancel: threading.Event | None = None) -> _Reply:
        """One reply, asked again on 429/5xx/timeouts/drops with exponential backoff."""
        import httpx

        cancel = cancel or threading.Event()
        request = self._stream if body.get("stream") else self._complete
        for attempt in range(self.retries + 1):
            if cancel.is_set():
                raise Cancelled
            try:
                return request(body, cancel)
            except _Retry as exc:
                wait, reason = exc.wait, exc.reason
            except httpx.TimeoutException:  # a slow teacher may answer the next time
                wait, reason = 0.0, f"no reply within {self.timeout:g} s, see --timeout"
            except (httpx.TransportError, ValueError) as exc:  # refused, dropped, bad JSON
                wait, reason = 0.0, type(exc).__name__
            if attempt == self.retries:
                times = "once" if self.retries == 0 else f"{self.retries + 1} times"
                raise TeacherUnavailable(f"{self.name} failed {times} (last: {reason})")
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
        body: dict = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "seed": seed,
            "stream": self.stream,
        }
        if self.stream:  # servers that know it send usage in a last chunk; others ignore it
            body["stream_options"] = {"include_usage": True}
        for key, name in (
            ("temperature", "temperature"),
            ("top_p", "top_p"),
            ("max_tokens", "max_tokens"),
        ):
            value = getattr(params, key)
            if value is not None:
                body[name] = value
        started = time.perf_counter()
        reply = self._ask(body, cancel)
        if reply.reasoning:  # the server split the thinking out itself (DeepSeek API, vLLM, …)
            thinking, answer, closed = reply.reasoning.strip(), reply.content.strip(), True
        else:
            split = split_reply(reply.content)
            thinking, answer, closed = split.thinking, split.answer, split.thinking_closed
        usage = reply.usage
        # without usage, llama.cpp-style servers still stream one token per chunk
        completion = usage.get("completion_tokens", reply.chunks)
        return Sample(
            thinking,
            answer,
            int(usage.get("prompt_tokens", 0)),
            int(completion),
            reply.finish_reason,
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


def make_teacher(
    spec: str,
    model: str | None,
    retries: int = 5,
    timeout: float = 600.0,
    stream: bool = True,
) -> Teacher:
    """`openai:URL` (needs --model) or `gguf:PATH_OR_NAME`.

    `timeout` bounds each openai: read: the whole reply when not streamed, the silence
    between chunks when streamed.
    """
    kind, _, rest = spec.partition(":")
    if kind == "openai" and rest:
        if not model:
            raise LocalthinkError("an openai: teacher needs --model (the server's model name)")
        return OpenAITeacher(rest, model, retries=retries, timeout=timeout, stream=stream)
    if kind == "gguf" and rest:
        return GGUFTeacher(rest)
    raise LocalthinkError(f"--teacher {spec!r}: expected openai:URL or gguf:PATH_OR_NAME")
