"""pass@1 and thinking/answer lengths on held-out tasks: a student beside its base, teacher.

A model is a local one (name, path, or `gguf:NAME` as `distill traces` spells a teacher),
run through the engine like any reply, or `openai:URL` with the server's model name.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from localthink.atomic import write_text
from localthink.distill.tasks import Task
from localthink.distill.verify import answer_is_correct
from localthink.engine.protocol import SamplingParams
from localthink.errors import LocalthinkError


@dataclass(frozen=True)
class EvalResult:
    model: str
    tasks: int  # tasks with at least one sample scored
    samples: int
    pass_at_1: float  # mean over tasks of the share of correct samples
    mean_thinking_tokens: float
    mean_answer_tokens: float
    scored: int = 0  # samples scored: tasks × samples unless the run was interrupted
    complete: bool = True


class EvalInterrupted(Exception):
    """Ctrl+C during an evaluation: what was scored before it."""

    def __init__(self, partial: EvalResult) -> None:
        super().__init__(f"interrupted after {partial.scored} samples")
        self.partial = partial


@dataclass(frozen=True)
class Reply:
    answer: str
    thinking_tokens: int
    answer_tokens: int
    message_id: int | None  # its row in the store, when one was written


Ask = Callable[[Task, int], Reply]
OnSample = Callable[[bool], None]


def check_spec(spec: str, teacher_model: str | None = None) -> None:
    """Fail now, in one line, on a model that cannot be found, before hours of sampling."""
    from localthink.models.resolve import resolve_model

    if spec.startswith("openai:"):
        if not teacher_model:
            raise LocalthinkError(f"{spec}: an openai: model needs --teacher-model NAME")
        return
    resolve_model(spec.removeprefix("gguf:"))


def evaluate(
    spec: str,
    tasks: list[Task],
    samples: int,
    params: SamplingParams,
    store=None,
    teacher_model: str | None = None,
    on_sample: OnSample | None = None,
) -> EvalResult:
    """Ask every task `samples` times (seeds 0…k-1); each reply lands in the store.

    `on_sample(correct)` hears of each scored sample; Ctrl+C raises EvalInterrupted with
    the scores so far.
    """
    if not tasks:
        raise LocalthinkError("no tasks to evaluate on")
    if spec.startswith("openai:"):
        return _score_openai(spec, teacher_model, tasks, samples, params, store, on_sample)
    from localthink.chat import open_model

    opened = open_model(spec.removeprefix("gguf:"))
    try:
        name = opened.resolved.model.name
        ask = _engine_asker(opened, name, params, store)
        return _score(name, tasks, samples, ask, store, on_sample)
    finally:
        opened.engine.close()


def _score(
    name: str, tasks: list[Task], samples: int, ask: Ask, store, on_sample: OnSample | None
) -> EvalResult:
    hits_per_task: list[tuple[int, int]] = []  # (correct, scored) per task started
    thinking, answer = [], []

    def result(complete: bool) -> EvalResult:
        return EvalResult(
            name,
            len(hits_per_task),
            samples,
            statistics.mean(hits / n for hits, n in hits_per_task),
            statistics.mean(thinking),
            statistics.mean(answer),
            len(thinking),
            complete,
        )

    try:
        for task in tasks:
            for k in range(samples):
                reply = ask(task, k)
                ok = answer_is_correct(task.kind, task.question, reply.answer, task.answer)
                if store is not None and reply.message_id is not None:
                    store.set_outcome(reply.message_id, reference=task.answer, correct=int(ok))
                hits, n = hits_per_task.pop() if k else (0, 0)
                hits_per_task.append((hits + ok, n + 1))
                thinking.append(reply.thinking_tokens)
                answer.append(reply.answer_tokens)
                if on_sample is not None:
                    on_sample(ok)
    except KeyboardInterrupt:
        if not thinking:
            raise
        raise EvalInterrupted(result(complete=False)) from None
    return result(complete=True)


def _engine_asker(opened, name: str, params: SamplingParams, store) -> Ask:
    from localthink.chat import Session
    from localthink.recording import ask_and_record

    def ask(task: Task, seed: int) -> Reply:
        p = replace(opened.params(params), seed=seed)
        session = Session(opened.engine, p, opened.system_prompt(None))
        done, message_id, _ = ask_and_record(
            store, session, task.prompt(), model=name, source="eval"
        )
        return Reply(done.answer, done.stats.thinking_tokens, done.stats.answer_tokens, message_id)

    return ask


def _score_openai(
    spec: str,
    model: str | None,
    tasks: list[Task],
    samples: int,
    params: SamplingParams,
    store,
    on_sample: OnSample | None = None,
) -> EvalResult:
    from localthink.distill.teachers import make_teacher

    check_spec(spec, model)  # make_teacher's own message names `traces`' --model flag
    teacher = make_teacher(spec, model)
    name = f"{model} ({spec})"  # the server's name alone could be any server's

    def ask(task: Task, seed: int) -> Reply:
        s = teacher.sample(task.prompt(), params, seed)
        thinking_tokens, answer_tokens = split_tokens(s.completion_tokens, s.thinking, s.answer)
        message_id = None
        if store is not None:
            message_id = _record(store, name, task.prompt(), s, thinking_tokens, answer_tokens)
        return Reply(s.answer, thinking_tokens, answer_tokens, message_id)

    return _score(name, tasks, samples, ask, store, on_sample)


def split_tokens(completion_tokens: int, thinking: str, answer: str) -> tuple[int, int]:
    """Thinking and answer tokens of a server reply, which reports only their sum.

    The sum is shared out by characters; a server that reports no usage gets the usual
    estimate of four characters a token, so its row is not a misleading zero.
    """
    chars = len(thinking) + len(answer)
    if not chars:
        return 0, completion_tokens
    total = completion_tokens or -(-chars // 4)
    thinking_tokens = round(total * len(thinking) / chars)
    return thinking_tokens, total - thinking_tokens


def _record(store, name: str, prompt: str, s, thinking_tokens: int, answer_tokens: int) -> int:
    """The server's reply as a stored row, with the figures `localthink stats` reads."""
    conv = store.new_conversation(prompt.splitlines()[0][:60], name, source="eval")
    store.add_message(conv.id, "user", prompt)
    message_id = store.add_message(conv.id, "assistant", model=name, status="streaming")
    cut = s.finish_reason == "length"
    figures = {
        "prompt_tokens": s.prompt_tokens,
        "thinking_tokens": thinking_tokens,
        "answer_tokens": answer_tokens,
        "stop_reason": "length" if cut else "done",
        "thinking_closed": int(s.thinking_closed),
    }
    status = "truncated" if cut else "complete"
    store.update_reply(message_id, s.thinking, s.answer, status, figures)
    return message_id


def write_results(results: list[EvalResult], path: Path) -> None:
    write_text(path, json.dumps([asdict(r) for r in results], indent=2) + "\n")
