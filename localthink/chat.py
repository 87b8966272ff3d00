"""A conversation with one loaded model: the path every reply takes.

CLI `ask`, the TUI and batch runs all go through Session → Engine → ThinkSplitter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from localthink.engine.protocol import (
    DEFAULT_MAX_TOKENS,
    Done,
    Engine,
    Event,
    Message,
    ReplyStats,
    SamplingParams,
    ThinkTags,
)
from localthink.engine.splitter import split_reply
from localthink.errors import LocalthinkError
from localthink.models.registry import ModelEntry
from localthink.models.resolve import ResolvedModel, resolve_model


@dataclass
class Turn:
    """One question and the reply to it (`user` None: a reply with no question before it)."""

    user: str | None
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
    turns_left_out: int = 0  # oldest turns the last prompt left out to fit the context

    def messages_for(self, text: str, first: int = 0) -> list[Message]:
        """The prompt for a new question from turn `first` on: earlier replies go back
        without their thinking."""
        messages = [Message("system", self.system)] if self.system else []
        for turn in self.turns[first:]:
            if turn.user is not None:
                messages.append(Message("user", turn.user))
            if turn.stats is not None:
                messages.append(Message("assistant", turn.answer))
        messages.append(Message("user", text))
        return messages

    def fitted_messages(self, text: str) -> list[Message]:
        """The prompt for a new question, leaving out the oldest turns until it fits the
        context with room for the reply (the smaller of max_tokens and half the context,
        so a reasoning reply is not starved). The system prompt and the question stay.

        Turns go in steps that free a quarter of the context, and the start chosen is kept
        while the prompt still fits: a prompt whose start changes at every question is read
        again in full each time (20-28 s a turn on a 2-core machine, against 2 s), while
        one that keeps its start reuses llama.cpp's cache of it.
        """
        n_ctx = self.engine.info.n_ctx
        room = min(self.params.max_tokens or DEFAULT_MAX_TOKENS, n_ctx // 2)
        if not n_ctx or not self.turns:
            self.turns_left_out = 0
            return self.messages_for(text)

        def length(first: int) -> int:
            return self.engine.prompt_tokens(self.messages_for(text, first), self.params)

        def fewest(low: int, most: int) -> int | None:
            """The fewest turns from `low` on to leave out for a prompt of `most` tokens."""
            high = len(self.turns)
            if length(high) > most:
                return None
            while low < high:  # the prompt shrinks as more turns are left out
                mid = (low + high) // 2
                low, high = (low, mid) if length(mid) <= most else (mid + 1, high)
            return high

        kept = min(self.turns_left_out, len(self.turns))
        if length(kept) + room <= n_ctx:
            first = kept
        else:
            slack = n_ctx // 4
            first = fewest(kept + 1, n_ctx - room - slack)
            if first is None:
                first = fewest(kept + 1, n_ctx - room)
            if first is None:
                first = len(self.turns)  # the question alone: it fits, or says it does not
        self.turns_left_out = first
        return self.messages_for(text, first)

    def send(self, text: str, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Stream the reply to `text`; the finished turn is kept for the next question."""
        turn = Turn(text)
        for event in self.engine.stream(self.fitted_messages(text), self.params, cancel):
            if isinstance(event, Done):
                turn.thinking, turn.answer, turn.stats = event.thinking, event.answer, event.stats
                self.turns.append(turn)
            yield event


def answer_only(content: str, tags: ThinkTags = ThinkTags()) -> str:
    """An earlier reply as the model sees it again: its thinking left out, whether it came
    as a `<think>` block or as text before a lone closing tag."""
    starts_inside = tags.close in content and tags.open not in content
    return split_reply(content, tags, starts_inside).answer


def check_messages(messages: list[Message]) -> None:
    """A client's conversation must end with a question: one line saying why not."""
    if not messages:
        raise LocalthinkError("messages is empty: send at least one user message")
    if messages[-1].role != "user":
        raise LocalthinkError(
            f"the last message must be from the user (it is from the {messages[-1].role})"
        )


def session_from_messages(
    engine: Engine,
    params: SamplingParams,
    messages: list[Message],
    tags: ThinkTags = ThinkTags(),
) -> tuple[Session, str]:
    """A Session holding a client's conversation, and the question to send (the last
    message, which must be the user's). System messages join into the system prompt."""
    check_messages(messages)
    system = "\n\n".join(m.content for m in messages if m.role == "system") or None
    turns: list[Turn] = []
    for m in messages[:-1]:
        if m.role == "user":
            turns.append(Turn(m.content))
        elif m.role == "assistant":
            answer = answer_only(m.content, tags)
            if not turns or turns[-1].stats is not None:  # a reply with no question of its own
                turns.append(Turn(None))
            turns[-1].answer, turns[-1].stats = answer, ReplyStats()
    return Session(engine, params, system, turns), messages[-1].content


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
    return load_model(resolve_model(spec), load_options, subprocess=subprocess)


def load_model(
    resolved: ResolvedModel, load_options=None, *, subprocess: bool = False
) -> OpenedModel:
    """Load a model already found on disk (see `open_model`)."""
    from localthink.engine.protocol import LoadOptions
    from localthink.models.fit import fit_warning

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
