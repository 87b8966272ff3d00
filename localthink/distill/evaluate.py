"""pass@1 and thinking/answer lengths on held-out tasks: a student beside its base, teacher."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from localthink.atomic import write_text
from localthink.distill.tasks import Task
from localthink.distill.verify import answer_is_correct
from localthink.engine.protocol import SamplingParams


@dataclass(frozen=True)
class EvalResult:
    model: str
    tasks: int
    samples: int
    pass_at_1: float  # mean over tasks of the share of correct samples
    mean_thinking_tokens: float
    mean_answer_tokens: float


def evaluate(
    spec: str, tasks: list[Task], samples: int, params: SamplingParams, store=None
) -> EvalResult:
    """Run every task `samples` times through the engine; each reply lands in the store."""
    from localthink.chat import Session, open_model
    from localthink.recording import ask_and_record

    opened = open_model(spec)
    name = opened.resolved.model.name
    per_task, thinking, answer = [], [], []
    try:
        for task in tasks:
            hits = 0
            for k in range(samples):
                p = replace(opened.params(params), seed=k)
                session = Session(opened.engine, p, opened.system_prompt(None))
                done, message_id, _ = ask_and_record(
                    store, session, task.prompt(), model=name, source="eval"
                )
                ok = answer_is_correct(task.kind, task.question, done.answer, task.answer)
                if store is not None:
                    store.set_outcome(message_id, reference=task.answer, correct=int(ok))
                hits += ok
                thinking.append(done.stats.thinking_tokens)
                answer.append(done.stats.answer_tokens)
            per_task.append(hits / samples)
    finally:
        opened.engine.close()
    return EvalResult(
        name,
        len(tasks),
        samples,
        statistics.mean(per_task),
        statistics.mean(thinking),
        statistics.mean(answer),
    )


def write_results(results: list[EvalResult], path: Path) -> None:
    write_text(path, json.dumps([asdict(r) for r in results], indent=2) + "\n")
