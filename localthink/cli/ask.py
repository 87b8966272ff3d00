"""`localthink ask`: one question from the shell, streamed or as one JSON object."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import contextmanager

from localthink.cli.options import (
    add_budget_flags,
    add_model_flags,
    add_sampling_flags,
    load_options,
    positive,
    sampling,
)
from localthink.engine.protocol import AnswerDelta, Done, ReplyStats, ThinkDelta
from localthink.errors import LocalthinkError

DIM, RESET = "\x1b[2m", "\x1b[0m"


def add_parser(sub) -> None:
    p = sub.add_parser("ask", help="ask one question and print the reply")
    p.add_argument("question", nargs="?", help="the question; '-' or nothing reads stdin")
    add_model_flags(p)
    add_sampling_flags(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming")
    p.add_argument("--hide-thinking", action="store_true", help="print only the answer")
    add_budget_flags(p)
    p.add_argument("--answer", help="reference answer: the reply is checked and the verdict stored")
    p.add_argument(
        "--file", help='batch: a JSONL file of {"question", "answer"?} lines (- reads stdin)'
    )
    p.add_argument("--runs", type=positive, default=1, help="batch: ask every question K times")
    p.add_argument(
        "--no-save", action="store_true", help="do not keep this reply in the chat store"
    )
    p.set_defaults(run=run)


def read_question(arg: str | None) -> str:
    if arg is None and sys.stdin.isatty():
        raise LocalthinkError("no question: pass one, or '-' to read it from stdin")
    text = sys.stdin.read() if arg in (None, "-") else arg
    if not text.strip():
        raise LocalthinkError("the question is empty")
    return text.strip()


def figures_line(stats: ReplyStats) -> str:
    """One line of figures, as the TUI shows under a reply."""
    parts = []
    if stats.thinking_tokens:
        parts.append(f"thought {stats.thinking_s:.1f} s · {stats.thinking_tokens} tok")
    parts += [
        f"answer {stats.answer_tokens} tok",
        f"ttft {stats.ttft_s:.2f} s",
        f"{stats.gen_tokens_per_s:.1f} tok/s",
    ]
    if stats.threads:  # 0 from an engine that does not say (the scripted one in tests)
        parts.append(f"{stats.threads} thread{'s' if stats.threads > 1 else ''}")
    parts.append(stats.stop_reason)
    return " · ".join(parts)


@contextmanager
def stop_on_signals(cancel: threading.Event):
    """SIGINT/SIGTERM stop the reply cleanly (the partial reply is still printed)."""

    def handler(signum, frame):
        if cancel.is_set():  # a second Ctrl-C: the user really wants out
            raise KeyboardInterrupt
        cancel.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(args: argparse.Namespace) -> int:
    cancel = threading.Event()
    if args.file:
        from localthink.cli.batch import run_batch

        if args.question is not None or args.answer is not None:
            raise LocalthinkError(
                "--file asks the file's questions (with their own answers):"
                " leave out the question and --answer"
            )

        with stop_on_signals(cancel):
            return run_batch(args, cancel)
    with stop_on_signals(cancel):
        stats = _run(args, cancel)
    if stats is not None and stats.stop_reason == "stopped":
        raise LocalthinkError("generation stopped by a signal; the partial reply is above")
    return 0


def _run(args: argparse.Namespace, cancel: threading.Event) -> ReplyStats | None:
    from localthink.chat import Session, open_model  # not at import: `localthink chat` skips it
    from localthink.recording import ask_and_record

    question = read_question(args.question)
    opened = open_model(args.model, load_options(args))
    model = opened.resolved.model
    if opened.warning:
        print(f"localthink: warning: {opened.warning}", file=sys.stderr)
    if opened.template_notice:
        print(f"localthink: note: {opened.template_notice}", file=sys.stderr)
    if opened.resolved.how in ("default", "configured"):
        print(f"localthink: using {model.name} ({model.path})", file=sys.stderr)
    session = Session(
        opened.engine, opened.params(sampling(args)), opened.system_prompt(args.system)
    )
    printer = None if args.json else StreamPrinter(args.hide_thinking)
    with open_store_unless(args.no_save) as store:
        done, message_id, correct = ask_and_record(
            store,
            session,
            question,
            model=model.name,
            reference=args.answer,
            cancel=cancel,
            on_event=printer,
        )
    if done is None:
        return None
    if args.json:
        out = {
            "model": model.name,
            "model_path": str(model.path),
            "thinking": done.thinking,
            "answer": done.answer,
            "stats": done.stats.to_dict(),
            "message_id": message_id,
        }
        if args.answer is not None:
            out["correct"] = correct
        print(json.dumps(out, ensure_ascii=False), flush=True)
    elif correct is not None:
        print("correct" if correct else f"incorrect (reference: {args.answer})", file=sys.stderr)
    return done.stats


@contextmanager
def open_store_unless(skip: bool):
    if skip:
        yield None
        return
    from localthink.errors import StoreError
    from localthink.store.db import open_store

    try:
        store = open_store()
    except StoreError as exc:  # a full disk: answer anyway, say the replies are not kept
        print(f"localthink: warning: replies are not being saved: {exc}", file=sys.stderr)
        yield None
        return
    with store:
        yield store


class StreamPrinter:
    """Thinking dimmed (on a terminal), a blank line, the answer; figures on stderr."""

    def __init__(self, hide_thinking: bool) -> None:
        self.hide_thinking = hide_thinking
        self.color = sys.stdout.isatty()
        self.in_thinking = False

    def __call__(self, event) -> None:
        out = sys.stdout
        if isinstance(event, ThinkDelta) and not self.hide_thinking:
            if not self.in_thinking:
                self.in_thinking = True
                out.write(DIM if self.color else "")
            out.write(event.text)
        elif isinstance(event, AnswerDelta):
            if self.in_thinking:
                self.in_thinking = False
                out.write((RESET if self.color else "") + "\n\n")
            out.write(event.text)
        elif isinstance(event, Done):
            if self.in_thinking:
                out.write(RESET if self.color else "")
            out.write("\n")
            print(figures_line(event.stats), file=sys.stderr)
        out.flush()
