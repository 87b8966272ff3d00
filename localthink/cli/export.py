"""`localthink export ID`: a stored conversation as Markdown or JSON."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="print a stored conversation as Markdown or JSON")
    p.add_argument("id", type=int, help="conversation id (see the chat app's sidebar)")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from localthink.store.db import open_store
    from localthink.store.export import export_conversation

    with open_store() as store:
        print(export_conversation(store, args.id, args.format))
    return 0
