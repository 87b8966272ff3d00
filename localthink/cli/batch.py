"""`localthink ask --file questions.jsonl [--runs K]`: many questions, every reply recorded."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from localthink.cli.options import load_options, sampling
from localthink.errors import LocalthinkError, PromptTooLongError


def read_questions(path: Path) -> list[dict]:
    """JSONL lines with "question" (and optionally "answer"); bad lines are reported, skipped."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        lines = text.splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalthinkError(f"{path}: cannot read ({exc})") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not str(row.get("question", "")).strip():
                raise ValueError('needs a "question"')
        except ValueError as exc:
            print(f"localthink: {path}:{number}: skipped ({exc})", file=sys.stderr)
            continue
        answer = row.get("answer")
        questions.append(
            {
                "question": str(row["question"]).strip(),
                "answer": None if answer is None else str(answer),
            }
        )
    if not questions:
        raise LocalthinkError(f"{path}: no questions")
    return questions


def run_batch(args: argparse.Namespace, cancel: threading.Event) -> int:
    from localthink.chat import Session, open_model
    from localthink.cli.ask import open_store_unless
    from localthink.recording import ask_and_record

    questions = read_questions(Path(args.file))
    opened = open_model(args.model, load_options(args))
    name = opened.resolved.model.name
    print(f"localthink: {len(questions)} questions × {args.runs} on {name}", file=sys.stderr)
    results, skipped = [], 0
    if opened.template_notice:
        print(f"localthink: note: {opened.template_notice}", file=sys.stderr)
    with open_store_unless(args.no_save) as store:
        total = len(questions) * args.runs
        for i, q in enumerate(q for q in questions for _ in range(args.runs)):
            if cancel.is_set():
                break
            session = Session(
                opened.engine, opened.params(sampling(args)), opened.system_prompt(args.system)
            )
            try:
                done, message_id, correct = ask_and_record(
                    store,
                    session,
                    q["question"],
                    model=name,
                    source="batch",
                    reference=q["answer"],
                    cancel=cancel,
                )
            except PromptTooLongError as exc:  # this question only: the others still fit
                skipped += 1
                if args.json:
                    print(json.dumps({"question": q["question"], "error": str(exc)}), flush=True)
                else:
                    print(f"[{i + 1}/{total}] ! skipped: {exc}", flush=True)
                continue
            s = done.stats
            results.append((s, correct))
            if args.json:
                print(
                    json.dumps(
                        {
                            "question": q["question"],
                            "reference": q["answer"],
                            "answer": done.answer,
                            "correct": correct,
                            "model": name,
                            "message_id": message_id,
                            "stats": s.to_dict(),
                        },
                        ensure_ascii=False,
                    ),
                    flush=True,
                )
            else:
                mark = {True: "✓", False: "✗", None: "·"}[correct]
                print(
                    f"[{i + 1}/{total}] {mark} thinking {s.thinking_tokens:>5} tok · answer "
                    f"{s.answer_tokens:>4} tok · {s.stop_reason:<7} {q['question'][:50]}",
                    flush=True,
                )
    judged = [c for _, c in results if c is not None]
    mean_think = sum(s.thinking_tokens for s, _ in results) / max(1, len(results))
    accuracy = f"{sum(judged)}/{len(judged)} correct · " if judged else ""
    too_long = f" · {skipped} skipped (prompt too long for --ctx)" if skipped else ""
    print(
        f"localthink: {len(results)} replies · {accuracy}mean thinking {mean_think:.0f} tok"
        f"{too_long}",
        file=sys.stderr,
    )
    if cancel.is_set():
        raise LocalthinkError("batch stopped by a signal; the replies so far are stored")
    return 0
