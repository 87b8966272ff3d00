"""`localthink chat` (and `localthink` alone): the Textual app."""

from __future__ import annotations

import argparse

from localthink.cli.options import (
    add_budget_flags,
    add_model_flags,
    add_sampling_flags,
    load_options,
    sampling,
)


def add_parser(sub) -> None:
    p = sub.add_parser("chat", help="open the chat app (the default)")
    add_model_flags(p)
    add_sampling_flags(p)
    add_budget_flags(p)  # for every reply; Ctrl+B changes the cap in the app
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from localthink.tui.app import ChatApp

    ChatApp(
        model_spec=args.model,
        load_options=load_options(args),
        params=sampling(args),
        system=args.system,
    ).run()
    return 0
