"""`localthink stats`: thinking tokens versus answer tokens, per query and per model."""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from datetime import datetime

from localthink.atomic import atomic_write, write_text
from localthink.errors import LocalthinkError
from localthink.stats_chart import plot


def add_parser(sub) -> None:
    p = sub.add_parser("stats", help="thinking vs answering, per query and per model")
    p.add_argument("--model", help="only this model")
    p.add_argument("--since", help="only replies on or after this date (YYYY-MM-DD)")
    p.add_argument("--chat", type=int, help="only this conversation id")
    p.add_argument("--plot", action="store_true", help="chart thinking vs answer tokens")
    p.add_argument("--csv", metavar="PATH", help="write the per-query rows as CSV")
    p.add_argument("--json", metavar="PATH", help="write rows and summary as JSON")
    p.set_defaults(run=run)


def parse_date(text: str) -> float:
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise LocalthinkError(f"--since {text!r}: expected a date like 2026-11-23") from None
    try:
        return day.timestamp()
    except (OverflowError, OSError, ValueError):  # before the epoch's reach: every reply
        return 0.0


def _fmt(value, spec: str = "", none: str = "-") -> str:
    return none if value is None else format(value, spec)


def print_tables(rows, summary) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)  # pipes get full rows
    per_query = Table(title="Per query", title_justify="left")
    for col in (
        "id",
        "question",
        "model",
        "think tok",
        "answer tok",
        "ratio",
        "think s",
        "answer s",
        "stop",
        "correct",
    ):
        per_query.add_column(col, justify="right" if "tok" in col or col.endswith(" s") else "left")
    for r in rows:
        per_query.add_row(
            str(r.message_id),
            r.question.replace("\n", " ")[:40],
            r.model,
            str(r.thinking_tokens),
            str(r.answer_tokens),
            _fmt(r.ratio, ".1f"),
            f"{r.thinking_s:.1f}",
            f"{r.answer_s:.1f}",
            r.stop_reason + (" (mid-thought)" if r.cut_off_thinking else ""),
            {True: "yes", False: "no", None: "-"}[r.correct],
        )
    console.print(per_query)
    per_model = Table(title="Per model", title_justify="left")
    for col in (
        "model",
        "replies",
        "median think",
        "p90 think",
        "median ratio",
        "cut off",
        "accuracy",
    ):
        per_model.add_column(col)
    for s in summary:
        per_model.add_row(
            s.model,
            str(s.replies),
            f"{s.median_thinking:.0f}",
            f"{s.p90_thinking:.0f}",
            _fmt(s.median_ratio, ".1f"),
            f"{s.cut_off_share:.0%}",
            "-" if s.accuracy is None else f"{s.accuracy:.0%} of {s.judged}",
        )
    console.print(per_model)


def run(args: argparse.Namespace) -> int:
    from localthink.store.db import open_store
    from localthink.store.stats import query_rows, summarise

    since = parse_date(args.since) if args.since else None
    with open_store(reading=True) as store:
        rows = query_rows(store, args.model, since, args.chat)
    summary = summarise(rows)
    if args.csv:
        with atomic_write(args.csv, newline="") as f:
            writer = csv.DictWriter(
                f, fieldnames=list(rows[0].to_dict()) if rows else ["message_id"]
            )
            writer.writeheader()
            writer.writerows(r.to_dict() for r in rows)
        print(f"localthink: {len(rows)} rows → {args.csv}", file=sys.stderr)
    if args.json:
        data = {"rows": [r.to_dict() for r in rows], "models": [s.__dict__ for s in summary]}
        write_text(args.json, json.dumps(data, indent=2, ensure_ascii=False))
        print(f"localthink: {len(rows)} rows → {args.json}", file=sys.stderr)
    if args.plot:  # colour only for a terminal: a pipe gets plain text
        tty = sys.stdout.isatty()
        width = shutil.get_terminal_size().columns if tty else 100
        print(plot(rows, width=width, color=tty))
    elif not (args.csv or args.json):
        if not rows:
            filters = [
                f"{flag} {value}"
                for flag, value in (
                    ("--model", args.model),
                    ("--since", args.since),
                    ("--chat", args.chat),
                )
                if value is not None
            ]
            if filters:
                print(f"no replies match {' '.join(filters)} (`localthink stats` lists them all)")
            else:
                print("no replies stored yet: ask something first (`localthink ask …`)")
            return 0
        print_tables(rows, summary)
    return 0
