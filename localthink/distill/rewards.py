"""Rule-based rewards for GRPO: each scores one completion of one task, in [0, 1].

A completion is what the policy wrote after the prompt, which already opened `<think>`
(the R1-Zero template), so a well-formed one reads `thinking</think>answer`. Rewards are
plain functions `(completion, task) -> float`; a user's own is named `module:function`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from localthink.distill.tasks import Task
from localthink.distill.verify import answer_is_correct
from localthink.errors import LocalthinkError
from localthink.verify import last_boxed

CLOSE = "</think>"

Reward = Callable[[str, Task], float]


@dataclass(frozen=True)
class Parsed:
    thinking: str
    answer: str
    closed: bool


def parse_completion(completion: str) -> Parsed:
    """Split at the first `</think>`; an unclosed completion has no answer at all."""
    thinking, sep, answer = completion.partition(CLOSE)
    return Parsed(thinking.strip(), answer.strip(), bool(sep))


def accuracy(completion: str, task: Task) -> float:
    """1 when the answer after the thinking is verified correct (same check as `verify`)."""
    parsed = parse_completion(completion)
    if not parsed.closed or not parsed.answer:
        return 0.0
    return float(answer_is_correct(task.kind, task.question, parsed.answer, task.answer))


def format_reward(completion: str, task: Task) -> float:
    """Half for closing non-empty thinking exactly once, half for a `\\boxed{}` answer after it."""
    parsed = parse_completion(completion)
    if not parsed.closed or not parsed.thinking or completion.count(CLOSE) != 1:
        return 0.0
    boxed = last_boxed(parsed.answer)
    return 1.0 if boxed else 0.5


BUILTIN: dict[str, Reward] = {"accuracy": accuracy, "format": format_reward}


def load_reward(name: str) -> Reward:
    """A built-in name, or `package.module:function` importable from the current env."""
    if name in BUILTIN:
        return BUILTIN[name]
    module, sep, attr = name.partition(":")
    if not sep:
        raise LocalthinkError(
            f"unknown reward {name!r} (built in: {', '.join(BUILTIN)}; or module:function)"
        )
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise LocalthinkError(f"reward {name!r}: cannot import ({exc})") from None
    if not callable(fn):
        raise LocalthinkError(f"reward {name!r} is not a function")
    return fn


def parse_rewards(specs: list[str]) -> dict[str, tuple[Reward, float]]:
    """`["accuracy", "format=0.5"]` → {name: (function, weight)}; weight 1 when not given."""
    out: dict[str, tuple[Reward, float]] = {}
    for spec in specs:
        name, sep, weight = spec.rpartition("=") if "=" in spec else (spec, "", "1")
        try:
            w = float(weight)
        except ValueError:
            raise LocalthinkError(f"reward {spec!r}: weight must be a number") from None
        out[name.strip()] = (load_reward(name.strip()), w)
    if not out:
        raise LocalthinkError("at least one --reward is needed")
    return out
