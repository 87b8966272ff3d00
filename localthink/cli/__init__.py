"""Command line: a thin layer over the library; every command is a function tests can call."""

from __future__ import annotations

import argparse
import sys

from localthink import __version__
from localthink.errors import LocalthinkError

# Commands that load a GGUF in this process (the chat app's window does not: its child does).
LOADS_MODELS = ("ask", "compare", "distill", "serve")


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (its usage block would bury the reason);
    subcommands inherit it (add_subparsers makes parsers of the parent's class)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` lists the flags)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="localthink",
        description="Private chat with small reasoning models (`localthink` alone opens the app).",
    )
    parser.add_argument("--version", action="version", version=f"localthink {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from localthink.cli import ask, chat, compare, distill, export, models, serve, stats

    for module in (ask, chat, compare, stats, models, export, serve, distill):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors print one line on stderr and return 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["chat", *argv]
    args = parser.parse_args(argv)
    if args.command in LOADS_MODELS:  # llama.cpp before numpy: localthink/engine/llama.py says why
        import localthink.engine.llama  # noqa: F401
    try:
        return int(args.run(args) or 0)
    except LocalthinkError as exc:
        print(f"localthink: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nlocalthink: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the machine's, not a bug: a full disk, a read-only or gone folder
        where = f": {exc.filename}" if exc.filename else ""
        print(f"localthink: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
