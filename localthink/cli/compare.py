"""`localthink compare`: one question over several models and/or thinking budgets, side by side."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from dataclasses import replace

from localthink.cli.options import (
    add_budget_flags,
    add_model_flags,
    add_sampling_flags,
    load_options,
    sampling,
)
from localthink.errors import LocalthinkError


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="one question over several models and thinking budgets")
    p.add_argument("question", help="the question, or '-' to read it from stdin")
    add_model_flags(p)
    add_sampling_flags(p)
    add_budget_flags(p, cap=False)  # the budgets are --budgets' list
    p.add_argument("--models", help="comma-separated models (default: --model or the default)")
    p.add_argument("--budgets", help="comma-separated thinking budgets; 'none' = unlimited")
    p.add_argument("--answer", help="reference answer, to mark each reply correct or not")
    p.add_argument("--json", action="store_true", help="one JSON object per reply")
    p.add_argument("--no-save", action="store_true", help="do not keep the replies")
    p.set_defaults(run=run)


def parse_budgets(text: str | None) -> list[int | None]:
    if not text:
        return [None]
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("none", "unlimited", "inf"):
            out.append(None)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise LocalthinkError(f"--budgets: {part!r} is not a number or 'none'")
    return out


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from localthink.chat import Session, open_model
    from localthink.cli.ask import open_store_unless, read_question
    from localthink.models.resolve import resolve_model
    from localthink.recording import ask_and_record

    question = read_question(args.question)
    specs = [m.strip() for m in args.models.split(",")] if args.models else [args.model]
    if args.models and not all(specs):
        raise LocalthinkError(f"--models {args.models!r}: a name is empty")
    budgets = parse_budgets(args.budgets)
    for spec in specs:  # every model found before any runs: a typo costs no waiting
        resolve_model(spec)
    table = Table(title=question.splitlines()[0][:80], title_justify="left")
    for col in (
        "model",
        "budget",
        "think tok",
        "answer tok",
        "think s",
        "total s",
        "answer",
        "correct",
    ):
        table.add_column(col, overflow="fold")
    cancel = threading.Event()
    with open_store_unless(args.no_save) as store:
        for spec in specs:
            opened = open_model(spec, load_options(args))
            name = opened.resolved.model.name
            try:
                for budget in budgets:
                    params = replace(opened.params(sampling(args)), think_budget=budget)
                    session = Session(opened.engine, params, opened.system_prompt(args.system))
                    done, message_id, correct = ask_and_record(
                        store,
                        session,
                        question,
                        model=name,
                        source="compare",
                        reference=args.answer,
                        cancel=cancel,
                    )
                    s = done.stats
                    if args.json:
                        print(
                            json.dumps(
                                {
                                    "model": name,
                                    "think_budget": budget,
                                    "answer": done.answer,
                                    "correct": correct,
                                    "message_id": message_id,
                                    "stats": s.to_dict(),
                                },
                                ensure_ascii=False,
                            ),
                            flush=True,
                        )
                    table.add_row(
                        name,
                        "none" if budget is None else str(budget),
                        str(s.thinking_tokens),
                        str(s.answer_tokens),
                        f"{s.thinking_s:.1f}",
                        f"{s.total_s:.1f}",
                        done.answer.replace("\n", " ")[:60],
                        {True: "yes", False: "no", None: "-"}[correct],
                    )
            finally:
                opened.engine.close()
    if not args.json:
        Console(width=None if sys.stdout.isatty() else 160).print(table)
    else:
        print(f"localthink: {len(specs) * len(budgets)} replies", file=sys.stderr)
    return 0
