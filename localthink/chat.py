"""A conversation with one loaded model: the path every reply takes.

CLI `ask`, the TUI and batch runs all go through Session → Engine → ThinkSplitter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from localthink.engine.protocol import (
    Done,
    Engine,
    Event,
    Message,
    ReplyStats,
    SamplingParams,
    ThinkTags,
)
from localthink.models.registry import ModelEntry
from localthink.models.resolve import ResolvedModel, resolve_model


@dataclass
class Turn:
    """One question and the reply to it."""

    user: str
    thinking: str = ""
    answer: str = ""
    stats: ReplyStats | None = None


@dataclass
class Session:
    """The turns so far, and how to ask the next question."""

    engine: Engine
    params: SamplingParams = SamplingParams()
    system: str | None = None
    turns: list[Turn] = field(default_factory=list)

    def messages_for(self, text: str) -> list[Message]:
        """The prompt for a new question: earlier replies go back without their thinking."""
        messages = [Message("system", self.system)] if self.system else []
        for turn in self.turns:
            messages.append(Message("user", turn.user))
            if turn.stats is not None:
                messages.append(Message("assistant", turn.answer))
        messages.append(Message("user", text))
        return messages

    def send(self, text: str, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Stream the reply to `text`; the finished turn is kept for the next question."""
        turn = Turn(text)
        for event in self.engine.stream(self.messages_for(text), self.params, cancel):
            if isinstance(event, Done):
                turn.thinking, turn.answer, turn.stats = event.thinking, event.answer, event.stats
                self.turns.append(turn)
            yield event


@dataclass(frozen=True)
class OpenedModel:
    engine: Engine
    resolved: ResolvedModel
    warning: str | None = None

    @property
    def entry(self) -> ModelEntry | None:
        return self.resolved.model.entry

    def params(self, overrides: SamplingParams) -> SamplingParams:
        """The user's flags, with the model's registry defaults underneath."""
        return overrides.merged_over(self.entry.sampling if self.entry else {})

    @property
    def template_notice(self) -> str | None:
        """Said before the first reply when the GGUF carries no chat template of its own."""
        info = self.engine.info
        if info.template_source == "gguf":
            return None
        return f"{info.name} has no chat template; using {info.template_source}"

    def system_prompt(self, system: str | None) -> str | None:
        """R1 distills are told to work without a system prompt: drop it for them."""
        if system and self.entry is not None and not self.entry.system_prompt:
            return None
        return system


def open_model(spec: str | None, load_options=None, *, subprocess: bool = False) -> OpenedModel:
    """Resolve a model name or path and load it in the llama.cpp engine.

    `subprocess=True` runs the engine in a child process (the chat app does, so that
    rendering never competes with generation for the GIL).
    """
    from localthink.engine.protocol import LoadOptions
    from localthink.models.fit import fit_warning

    resolved = resolve_model(spec)
    entry = resolved.model.entry
    if subprocess:  # this process never loads llama.cpp: the child does
        from localthink.engine.subprocess_engine import SubprocessEngine as LlamaEngine
    else:
        from localthink.engine.llama import LlamaEngine
    options = load_options or LoadOptions()
    # after the engine's import: reading the GGUF loads numpy, which must come after llama.cpp
    warning = fit_warning(
        resolved.model.size_bytes, resolved.model.path, options.n_ctx, options.n_gpu_layers
    )
    engine = LlamaEngine(
        resolved.model.path,
        options,
        tags=entry.tags if entry else ThinkTags(),
        name=resolved.model.name,
    )
    return OpenedModel(engine, resolved, warning)
