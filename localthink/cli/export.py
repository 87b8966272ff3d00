"""`localthink export [ID]`: a stored conversation as Markdown or JSON; no ID lists them."""

from __future__ import annotations

import argparse
import time


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="print a stored conversation as Markdown or JSON")
    p.add_argument(
        "id", type=int, nargs="?", help="conversation id (leave it out to list them with ids)"
    )
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("--search", default="", help="with no id: only chats whose text matches")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from localthink.store.db import open_store
    from localthink.store.export import export_conversation

    with open_store(reading=True) as store:
        if args.id is not None:
            print(export_conversation(store, args.id, args.format))
            return 0
        chats = store.conversations(args.search, sources=None)
        if not chats:
            print(
                "no conversations stored yet"
                + (f" matching {args.search!r}" if args.search else "")
            )
        for c in chats:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated_at))
            print(f"{c.id:>5}  {when}  {c.source:<6} {c.model:<24.24} {c.title}")
    return 0
