"""A deterministic engine for snapshots: fixed text, a step clock, optional pause points.

Implements the Engine protocol and builds replies with the same ReplyBuilder as
LlamaEngine, so splitting and figures are the real code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from localthink.chat import OpenedModel
from localthink.engine.protocol import Event, Message, ModelInfo, SamplingParams
from localthink.engine.reply import ReplyBuilder
from localthink.models.resolve import LocalModel, ResolvedModel


class StepClock:
    def __init__(self, step: float = 0.05) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class ScriptedEngine:
    info = ModelInfo(
        name="scripted-r1",
        path="/models/scripted-r1.gguf",
        architecture="qwen2",
        quant="Q4_K_M",
        size_bytes=1_100_000_000,
        n_ctx=4096,
        backend="CPU",
    )

    def __init__(
        self,
        pieces: list[str],
        starts_inside: bool = True,
        pause_at: int | None = None,
        piece_seconds: float = 0.0,
    ) -> None:
        self.pieces = pieces
        self.starts_inside = starts_inside
        self.pause_at = pause_at
        self.piece_seconds = piece_seconds  # real time between pieces: frames in between
        self.paused = threading.Event()  # set when the stream reaches pause_at
        self.resume = threading.Event()
        self.calls: list[list[Message]] = []

    def stream(
        self, messages: list[Message], params: SamplingParams, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        self.calls.append(messages)
        builder = ReplyBuilder(40, 40, starts_inside=self.starts_inside, clock=StepClock())
        reason = "done"
        for i, piece in enumerate(self.pieces):
            if i == self.pause_at:
                self.paused.set()
                while not self.resume.wait(0.05):
                    if cancel is not None and cancel.is_set():
                        break
            if cancel is not None and cancel.is_set():
                reason = "stopped"
                break
            if self.piece_seconds:
                time.sleep(self.piece_seconds)
            yield from builder.token(piece)
        yield from builder.finish(reason)

    def prompt_tokens(self, messages: list[Message], params: SamplingParams) -> int:
        return 40 + sum(self.count_tokens(m.content) for m in messages)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def close(self) -> None:
        self.resume.set()


THINK = [
    "Seventeen",
    " times",
    " twenty",
    "-three",
    ":",
    " 17",
    "×20",
    " is",
    " 340",
    ",",
    " 17",
    "×3",
    " is",
    " 51",
    ", so",
    " 391",
    ".",
    "\n",
    "</think>",
    "\n\n",
]
ANSWER = ["**17 × 23 = 391**", "\n\n", "- 17 × 20 = 340\n", "- 17 × 3 = 51\n"]


def scripted_opener(engine: ScriptedEngine):
    def open_(spec: str | None) -> OpenedModel:
        model = LocalModel("scripted-r1", Path(engine.info.path), None)
        return OpenedModel(engine, ResolvedModel(model, "name"))

    return open_
