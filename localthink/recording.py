"""Ask a question and keep the reply in the store: the path for `ask`, batch runs and `compare`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import asdict

from localthink.chat import Session
from localthink.engine.protocol import Done, Event
from localthink.errors import LocalthinkError
from localthink.store.db import Store
from localthink.store.reply_writer import ReplyWriter
from localthink.verify import is_correct


def ask_and_record(
    store: Store | None,
    session: Session,
    question: str,
    *,
    model: str,
    source: str = "ask",
    reference: str | None = None,
    cancel: threading.Event | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> tuple[Done | None, int | None, bool | None]:
    """Stream one reply (written to the store as it comes when a store is given).

    Returns the Done event, the stored message id, and the verdict when a
    reference answer was given.
    """
    message_id, writer = None, None
    if store is not None:
        conv = store.new_conversation(question.splitlines()[0][:60], model, source=source)
        store.add_message(conv.id, "user", question)
        p = session.params
        message_id = store.add_message(
            conv.id, "assistant", model=model, params=asdict(p), status="streaming"
        )
        store.set_outcome(
            message_id,
            think_budget=p.think_budget,
            min_think=p.min_think,
            no_think=int(p.no_think),
            reference=reference,
        )
        writer = ReplyWriter(store, message_id, on_error=not_saved)
    done = None
    try:
        for event in session.send(question, cancel):
            if writer is not None:
                writer.on_event(event)
            if on_event is not None:
                on_event(event)
            if isinstance(event, Done):
                done = event
    except LocalthinkError:
        if writer is not None:
            writer.fail("error")
        raise
    if writer is not None and writer.error is not None:
        message_id = None  # the stored row lags behind: not worth pointing to
    correct = None
    if done is not None and reference is not None:
        correct = is_correct(done.answer, reference)
        if store is not None:
            store.set_outcome(message_id, correct=int(correct))
    return done, message_id, correct


def not_saved(reason: str) -> None:
    """The reply goes on; the user learns it is not being kept (once per reply)."""
    print(f"localthink: warning: this reply is not being saved: {reason}", file=sys.stderr)
