"""Run the llama.cpp engine in a child process, for the chat app.

Inside one process the UI thread and the generation thread share the GIL: every
ctypes call llama-cpp-python makes per token waits while Textual lays out and
renders, and generation ran ~20 % slower in the app than in `localthink ask`
(benchmarks/tui_startup.py). A child process has its own interpreter, so the
UI cannot slow generation. Events cross a pipe as pickled dataclasses, in batches (see
BATCH_SECONDS).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from localthink.engine.protocol import Event, LoadOptions, Message, SamplingParams, ThinkTags
from localthink.errors import GenerationError, LocalthinkError

# Events leave the child at most this often (the first at once, the last with the end): a
# message per token woke the window's process per token, and on a 2-core machine each
# wake-up took a core from llama.cpp's threads (the app's median token was 5-8 % slower
# than ask's). The window draws 5-10 times a second, so nothing shows later.
BATCH_SECONDS = 0.1
# How often the receiving thread wakes with nothing received, to pass on a stop (Esc) to
# the child: at 0.05 s, with a check on the child's life at each, the thread took ~25 ms
# of CPU a 200-token reply in these wake-ups alone (thread_time), beside llama.cpp's threads.
CANCEL_CHECK_SECONDS = 0.1


def batched(
    events: Iterator[Event], seconds: float = BATCH_SECONDS, clock=time.monotonic
) -> Iterator[list[Event]]:
    """The events in lists: the first alone, then what came in each `seconds`."""
    batch: list[Event] = []
    sent = None
    for event in events:
        batch.append(event)
        now = clock()
        if sent is None or now - sent >= seconds:
            yield batch
            batch, sent = [], now
    if batch:
        yield batch


def _serve(conn, cancel, path: str, options, tags: ThinkTags, name: str | None) -> None:
    """The child: load the model, then answer requests until the pipe closes."""
    if not os.environ.get("LOCALTHINK_DEBUG"):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # llama.cpp must not draw over the parent's terminal UI
        os.dup2(devnull, 2)
    from localthink.engine.llama import LlamaEngine

    try:
        engine = LlamaEngine(path, options, tags, name)
    except LocalthinkError as exc:
        conn.send(("error", exc))
        return
    conn.send(("ready", engine.info))
    try:
        while True:
            request = conn.recv()
            if request[0] in ("stream", "complete"):
                try:
                    generate = getattr(engine, request[0])
                    for batch in batched(generate(request[1], request[2], cancel)):
                        conn.send(("events", batch))
                    conn.send(("end",))
                except LocalthinkError as exc:
                    conn.send(("error", exc))
            elif request[0] == "count":
                conn.send(("count", engine.count_tokens(request[1])))
            elif request[0] == "prompt_tokens":
                try:
                    conn.send(("count", engine.prompt_tokens(request[1], request[2])))
                except LocalthinkError as exc:
                    conn.send(("error", exc))
            else:
                break
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent went away
    finally:
        engine.close()


class SubprocessEngine:
    """The Engine protocol, served by a LlamaEngine in a child process."""

    def __init__(
        self, path: str | Path, options=None, tags: ThinkTags = ThinkTags(), name: str | None = None
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        # this process draws the window while the child generates: the child starts a
        # thread below the cores and measures from there (engine/threads.py)
        options = replace(options or LoadOptions(), beside_window=True)
        # Textual swaps sys.stdout/stderr for objects without a real fileno, which
        # multiprocessing hands to its helper processes: give it the real streams.
        with contextlib.redirect_stdout(sys.__stdout__), contextlib.redirect_stderr(sys.__stderr__):
            self._conn, child_conn = ctx.Pipe()
            self._cancel = ctx.Event()
            self._proc = ctx.Process(
                target=_serve,
                args=(child_conn, self._cancel, str(path), options, tags, name),
                daemon=True,
            )
            self._proc.start()
        child_conn.close()
        self._lock = threading.Lock()
        self.info = self._receive()[1]

    def _send(self, message: tuple) -> None:
        try:
            self._conn.send(message)
        except (BrokenPipeError, ConnectionResetError):  # it died while idle (killed, OOM)
            raise GenerationError(
                f"the model process died (exit code {self._proc.exitcode}); load the model again"
            ) from None

    def _receive(self) -> tuple:
        while not self._conn.poll(0.1):
            if not self._proc.is_alive():
                raise GenerationError(
                    f"the model process died (exit code {self._proc.exitcode}; out of memory?)"
                )
        try:
            message = self._conn.recv()
        except EOFError:
            raise GenerationError("the model process died (out of memory?)") from None
        if message[0] == "error":
            raise message[1]
        return message

    def stream(
        self, messages: list[Message], params: SamplingParams, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        yield from self._events(("stream", messages, params), cancel)

    def complete(
        self, text: str, params: SamplingParams, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        yield from self._events(("complete", text, params), cancel)

    def _events(self, request: tuple, cancel: threading.Event | None) -> Iterator[Event]:
        with self._lock:
            self._cancel.clear()
            self._send(request)
            finished = False
            try:
                watched = [self._conn, self._proc.sentinel]
                while True:
                    if cancel is not None and cancel.is_set():
                        self._cancel.set()
                    ready = multiprocessing.connection.wait(watched, CANCEL_CHECK_SECONDS)
                    if self._conn not in ready:
                        if ready:  # only the sentinel: the child is gone
                            finished = True
                            raise GenerationError("the model process died mid-reply")
                        continue
                    message = self._receive()
                    if message[0] == "end":
                        finished = True
                        return
                    yield from message[1]
            except LocalthinkError:
                finished = True
                raise
            finally:
                if not finished:  # the caller stopped reading: stop the child and drain
                    self._cancel.set()
                    while self._receive()[0] != "end":
                        pass

    def prompt_tokens(self, messages: list[Message], params: SamplingParams) -> int:
        with self._lock:
            self._send(("prompt_tokens", messages, params))
            return self._receive()[1]

    def count_tokens(self, text: str) -> int:
        with self._lock:
            self._send(("count", text))
            return self._receive()[1]

    def close(self) -> None:
        if self._proc.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(("close",))
            self._proc.join(timeout=5)
            if self._proc.is_alive():
                self._proc.kill()
        self._conn.close()
