"""The one interface the rest of localthink uses to run a model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]
StopReason = Literal["done", "length", "stopped", "context"]
DEFAULT_MAX_TOKENS = 2048  # a reply's length when neither the user nor the model sets one


@dataclass(frozen=True)
class Message:
    """One chat turn as the model sees it (assistant turns carry only their answer)."""

    role: Role
    content: str


@dataclass(frozen=True)
class LoadOptions:
    """How to load a model; None picks a default for this machine."""

    n_ctx: int | None = None
    n_threads: int | None = None  # None: the engine adapts it while generating
    n_gpu_layers: int | None = None
    beside_window: bool = False  # the chat window's process shares the cores


@dataclass(frozen=True)
class SamplingParams:
    """How to sample one reply; None means "use the model's default"."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    seed: int | None = None
    think_budget: int | None = None  # most thinking tokens; 0 = no thinking
    min_think: int | None = None  # fewest thinking tokens before the model may close
    no_think: bool = False

    def merged_over(self, defaults: dict) -> SamplingParams:
        """These params, with every None filled from a per-model defaults table."""
        values = asdict(self)
        for key, value in defaults.items():
            if key in values and values[key] is None:
                values[key] = value
        return SamplingParams(**values)


@dataclass(frozen=True)
class ThinkTags:
    """The tag pair a model wraps its reasoning in."""

    open: str = "<think>"
    close: str = "</think>"


@dataclass
class ReplyStats:
    """Figures for one reply. Token counts come from the model's tokenizer."""

    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    thinking_tokens: int = 0
    answer_tokens: int = 0
    ttft_s: float = 0.0
    thinking_s: float = 0.0
    answer_s: float = 0.0
    total_s: float = 0.0
    gen_tokens_per_s: float = 0.0
    prompt_tokens_per_s: float = 0.0
    stop_reason: StopReason = "done"
    thinking_closed: bool = True
    threads: int = 0  # CPU threads that generated most of the reply (0: not known)

    @property
    def gen_tokens(self) -> int:
        return self.thinking_tokens + self.answer_tokens

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ThinkDelta:
    text: str


@dataclass(frozen=True)
class AnswerDelta:
    text: str


@dataclass(frozen=True)
class Done:
    thinking: str
    answer: str
    stats: ReplyStats


Event = ThinkDelta | AnswerDelta | Done


@dataclass(frozen=True)
class ModelInfo:
    """What the UI shows about a loaded model."""

    name: str
    path: str
    architecture: str = ""
    quant: str = ""
    size_bytes: int = 0
    n_ctx: int = 0
    backend: str = "CPU"
    template_source: str = "gguf"
    extra: dict = field(default_factory=dict)
    cpu_threads: int = 0  # the most CPU threads generation may use (0: not known)


class Engine(Protocol):
    """A loaded model that streams replies as thinking/answer deltas, then Done."""

    info: ModelInfo

    def stream(
        self,
        messages: list[Message],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]: ...

    def complete(
        self, text: str, params: SamplingParams, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        """Continue raw text (no chat template, no thinking split): AnswerDeltas, then Done."""
        ...

    def prompt_tokens(self, messages: list[Message], params: SamplingParams) -> int:
        """The length of the prompt `stream` would build for these messages."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def close(self) -> None: ...
