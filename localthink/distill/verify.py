"""Rejection sampling: keep only correct, well-formed traces, as SFT-ready chat records."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from localthink.atomic import atomic_write
from localthink.distill import countdown
from localthink.errors import LocalthinkError
from localthink.verify import extract_answer, is_correct

# Characters outside Latin scripts, digits, punctuation and maths symbols: R1 filtered
# out traces that drift into another language ("language mixing").
_FOREIGN = re.compile(r"[^\x00-\u024F\u2000-\u22FF\u25A0-\u25FF\u00B0-\u00FF×÷√π∑∫≈≠≤≥→]")


BAD_TARGET = "countdown target not a whole number"
NO_NUMBERS = "countdown numbers not found in the question"


def countdown_problem(question: str, reference: str) -> str | None:
    """Why no answer to a countdown task can be checked (BAD_TARGET, NO_NUMBERS), or None."""
    if countdown.target(reference) is None:
        return BAD_TARGET
    if not countdown.numbers_in_question(question):
        return NO_NUMBERS
    return None


def answer_is_correct(kind: str, question: str, answer: str, reference: str) -> bool:
    if kind == "countdown":
        goal, given = countdown.target(reference), countdown.numbers_in_question(question)
        if goal is None or not given:  # uncheckable: countdown_problem says why
            return False
        expr = extract_answer(answer) or ""
        expr = expr.split("=")[0]  # "3 + 4 × 5 = 23" → the expression
        return countdown.check(expr, given, goal)
    return is_correct(answer, reference)


def foreign_share(text: str) -> float:
    return len(_FOREIGN.findall(text)) / max(1, len(text))


@dataclass
class Filters:
    max_thinking_chars: int = 32_000
    min_thinking_chars: int = 1
    max_foreign_share: float = 0.05
    # off only to exercise the pipeline with a teacher that is never right
    check_answers: bool = True


@dataclass
class Report:
    seen: int = 0
    kept: int = 0
    reasons: dict = field(default_factory=lambda: defaultdict(int))
    by_kind: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # kept, seen
    kept_thinking: list = field(default_factory=list)
    rejected_thinking: list = field(default_factory=list)


def reject_reason(rec: dict, filters: Filters) -> str | None:
    """Why a trace is rejected, or None to keep it."""
    thinking = rec.get("thinking") or ""
    if filters.check_answers and rec.get("kind") == "countdown":
        problem = countdown_problem(rec["question"], str(rec["reference"]))
        if problem:
            return problem
    if len(thinking) < filters.min_thinking_chars:
        return "no thinking"
    if not rec.get("thinking_closed", True):
        return "thinking not closed"
    if rec.get("finish_reason") == "length":
        return "answer cut off"
    if len(thinking) > filters.max_thinking_chars:
        return "too long"
    if foreign_share(thinking + (rec.get("answer") or "")) > filters.max_foreign_share:
        return "language mixing"
    if filters.check_answers and not answer_is_correct(
        rec.get("kind", "math"), rec["question"], rec.get("answer") or "", str(rec["reference"])
    ):
        return "wrong answer"
    return None


def sft_record(rec: dict) -> dict:
    from localthink.distill.tasks import MATH_SUFFIX

    prompt = f"{rec['question']}\n{MATH_SUFFIX}"
    reply = f"<think>\n{rec['thinking'].strip()}\n</think>\n\n{rec['answer'].strip()}"
    return {
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}],
        "task_id": rec["task_id"],
        "kind": rec.get("kind", "math"),
    }


def record_problem(rec) -> str | None:
    """What makes a line unusable as a trace record (named per line), or None."""
    if not isinstance(rec, dict):
        return "not a JSON object"
    for key in ("task_id", "question", "reference"):
        if key not in rec:
            return f'no "{key}"'
    if not isinstance(rec["question"], str) or not rec["question"].strip():
        return '"question" must be text'
    if not isinstance(rec["reference"], str | int | float) or isinstance(rec["reference"], bool):
        return '"reference" must be text or a number'
    for key in ("thinking", "answer", "kind"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            return f'"{key}" must be text'
    return None


def verify_traces(src: Path, dst: Path, filters: Filters = Filters()) -> Report:
    """Read traces, write the accepted ones as SFT JSONL (atomically), return the tally.
    Nothing is written when there is no trace record at all (an old file stays whole)."""
    if dst.resolve() == src.resolve():
        raise LocalthinkError(f"{dst}: is the traces file itself; give -o another file")
    try:
        lines = src.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalthinkError(f"{src}: cannot read ({exc})") from None
    report, seen_hashes, out = Report(), set(), []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            rec = None
        problem = "not JSON" if rec is None else record_problem(rec)
        if problem:
            print(f"localthink: {src}:{number}: skipped ({problem})", file=sys.stderr)
            continue
        report.seen += 1
        rec["kind"] = kind = rec.get("kind") or "math"
        rec["thinking"], rec["answer"] = rec.get("thinking") or "", rec.get("answer") or ""
        report.by_kind[kind][1] += 1
        reason = reject_reason(rec, filters)
        key = hashlib.sha256(
            f"{rec['question']}\0{rec.get('thinking')}\0{rec.get('answer')}".encode()
        ).hexdigest()
        if reason is None and key in seen_hashes:
            reason = "duplicate"
        seen_hashes.add(key)
        length = len(rec.get("thinking") or "")
        if reason == BAD_TARGET:  # the task, not the teacher, is at fault: say where
            print(
                f"localthink: {src}:{number}: rejected (countdown target "
                f"{str(rec['reference'])!r} is not a whole number)",
                file=sys.stderr,
            )
        if reason:
            report.reasons[reason] += 1
            report.rejected_thinking.append(length)
            continue
        report.kept += 1
        report.by_kind[kind][0] += 1
        report.kept_thinking.append(length)
        out.append(sft_record(rec))
    if report.reasons.get(NO_NUMBERS):  # once, not per line: usually every line has it
        print(
            f"localthink: warning: {report.reasons[NO_NUMBERS]} countdown traces were rejected: "
            "their questions do not list the numbers as [a, b, c]",
            file=sys.stderr,
        )
    if not report.seen:
        raise LocalthinkError(f"{src}: no trace records (nothing written to {dst})")
    with atomic_write(dst) as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return report
