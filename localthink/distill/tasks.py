"""Verifiable problems for distillation: JSONL {"id", "question", "answer", "kind"}."""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from localthink.atomic import atomic_write
from localthink.errors import LocalthinkError

MATH_SUFFIX = "Please reason step by step, and put your final answer within \\boxed{}."


@dataclass(frozen=True)
class Task:
    id: str
    question: str
    answer: str
    kind: str = "math"
    split: str = "train"

    def prompt(self) -> str:
        """The R1 convention: no system prompt; maths ends with the boxed-answer request."""
        return f"{self.question}\n{MATH_SUFFIX}"


def split_of(task_id: str, seed: int, test_share: float = 0.1) -> str:
    """A fixed train/test split: the same id and seed always land on the same side."""
    h = int(hashlib.sha256(f"{seed}:{task_id}".encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < test_share else "train"


def arithmetic(rng: random.Random, difficulty: int) -> tuple[str, str]:
    """Multi-step integer arithmetic: 2 + difficulty operands, +, - and ×.

    Difficulty 0 (two numbers up to 20) is for very small students, e.g. GRPO on 135M.
    """
    top = 10 * difficulty + 9 if difficulty else 20
    terms = [rng.randint(2, top) for _ in range(2 + difficulty)]
    ops = [rng.choice("+-*") for _ in terms[1:]]
    expr = str(terms[0])
    for op, t in zip(ops, terms[1:], strict=True):
        expr += f" {op} {t}"
    value = eval_arithmetic(expr)
    return f"Compute {expr.replace('*', '×')}.", str(value)


def eval_arithmetic(expr: str) -> int:
    """+, - and * with the usual precedence, on integers: parsed, never eval'd."""
    from localthink.distill.countdown import evaluate

    return int(evaluate(expr))


def linear(rng: random.Random, difficulty: int) -> tuple[str, str]:
    """ax + b = c with an integer solution."""
    x = rng.randint(-10 * difficulty, 10 * difficulty)
    a = rng.choice([n for n in range(-9 * difficulty, 9 * difficulty + 1) if n not in (-1, 0, 1)])
    b = rng.randint(-20 * difficulty, 20 * difficulty)
    sign = "+" if b >= 0 else "-"
    return f"Solve for x: {a}x {sign} {abs(b)} = {a * x + b}.", str(x)


def countdown(rng: random.Random, difficulty: int) -> tuple[str, str]:
    """Reach a target from given numbers with + - × ÷ (each number at most once)."""
    from localthink.distill.countdown import solvable_target

    numbers = [rng.randint(1, 25) for _ in range(3 + difficulty)]
    target = solvable_target(numbers, rng)
    question = (
        f"Using the numbers {numbers}, each at most once, and + - × ÷, make {target}. "
        "Give the expression as your final answer."
    )
    return question, str(target)


GENERATORS: dict[str, Callable[[random.Random, int], tuple[str, str]]] = {
    "arithmetic": arithmetic,
    "linear": linear,
    "countdown": countdown,
}


def generate_tasks(generator: str, n: int, seed: int, difficulty: int = 1) -> list[Task]:
    if generator not in GENERATORS:
        raise LocalthinkError(f"unknown generator {generator!r} (have: {', '.join(GENERATORS)})")
    if difficulty < (0 if generator == "arithmetic" else 1):
        raise LocalthinkError(f"difficulty {difficulty} is too low for {generator}")
    rng = random.Random(f"{generator}:{seed}:{difficulty}")
    tasks, seen, repeats = [], set(), 0
    while len(tasks) < n:
        question, answer = GENERATORS[generator](rng, difficulty)
        if question in seen:
            repeats += 1
            if repeats > 100 * n:  # the space is smaller than n: say so rather than spin
                raise LocalthinkError(
                    f"only {len(tasks)} distinct {generator} tasks at difficulty {difficulty}"
                )
            continue
        seen.add(question)
        task_id = f"{generator}-{seed}-{len(tasks):06d}"
        kind = "countdown" if generator == "countdown" else "math"
        tasks.append(Task(task_id, question, answer, kind, split_of(task_id, seed)))
    return tasks


def write_tasks(tasks: list[Task], path: Path) -> None:
    with atomic_write(path) as f:
        for t in tasks:
            f.write(json.dumps(asdict(t), ensure_ascii=False) + "\n")


def _task_problem(row, ids: set[str]) -> str | None:
    """Why a JSONL line is not a task (said per line), or None."""
    if not isinstance(row, dict):
        return "not a JSON object"
    missing = [k for k in ("id", "question", "answer") if row.get(k) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    for key in ("id", "question", "answer"):
        if not isinstance(row[key], str | int | float) or isinstance(row[key], bool):
            return f'"{key}" must be text or a number'
    if not str(row["question"]).strip():
        return "missing question"
    if row.get("split", "train") not in ("train", "test"):
        return f'"split" must be train or test, not {row["split"]!r}'
    if str(row["id"]) in ids:
        return f"duplicate id {row['id']}"
    return None


def read_tasks(path: Path) -> list[Task]:
    """Tasks from JSONL; each bad line is reported with its number and skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalthinkError(f"{path}: cannot read ({exc})") from None
    tasks, ids = [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        problem = "not JSON" if row is None else _task_problem(row, ids)
        if problem:
            print(f"localthink: {path}:{number}: skipped ({problem})", file=sys.stderr)
            continue
        ids.add(str(row["id"]))
        tasks.append(
            Task(
                str(row["id"]),
                str(row["question"]),
                str(row["answer"]),
                str(row.get("kind", "math")),
                str(row.get("split", "train")),
            )
        )
    if not tasks:
        raise LocalthinkError(f"{path}: no valid tasks")
    return tasks
