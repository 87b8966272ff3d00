"""Ask a question and keep the reply in the store: the path for `ask`, batch runs and `compare`."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict

from localthink.chat import Session
from localthink.engine.protocol import Done, Event
from localthink.errors import LocalthinkError, StoreError
from localthink.store.db import Store
from localthink.store.reply_writer import ReplyWriter
from localthink.verify import is_correct


class RecordedReply:
    """One reply streamed while it is written to the store (when a store is given)."""

    def __init__(
        self,
        store: Store | None,
        session: Session,
        question: str,
        *,
        model: str,
        source: str = "ask",
        reference: str | None = None,
    ) -> None:
        self.session, self.question = session, question
        self.message_id: int | None = None
        self.writer: ReplyWriter | None = None
        if store is not None:
            try:
                self.message_id = _start(store, session, question, model, source, reference)
            except StoreError as exc:  # a full disk: answer anyway, and say it is not kept
                not_saved(str(exc))
            else:
                self.writer = ReplyWriter(store, self.message_id, on_error=not_saved)

    def events(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        """The reply's events, each written before it is passed on."""
        writer = self.writer
        try:
            for event in self.session.send(self.question, cancel):
                if writer is not None:
                    writer.on_event(event)
                yield event
        except LocalthinkError:
            if writer is not None:
                writer.fail("error")
            raise
        if writer is not None and writer.error is not None:
            self.message_id = None  # the stored row lags behind: not worth pointing to


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
    reply = RecordedReply(store, session, question, model=model, source=source, reference=reference)
    done = None
    for event in reply.events(cancel):
        if on_event is not None:
            on_event(event)
        if isinstance(event, Done):
            done = event
    message_id = reply.message_id
    correct = None
    if done is not None and reference is not None:
        correct = is_correct(done.answer, reference)
        if store is not None and message_id is not None:
            try:
                store.set_outcome(message_id, correct=int(correct))
            except StoreError as exc:
                not_saved(str(exc))
    return done, message_id, correct


def _start(
    store: Store, session: Session, question: str, model: str, source: str, reference: str | None
) -> int:
    """The question and an empty reply row; a conversation left without them is removed."""
    lines = question.strip().splitlines()
    conv = store.new_conversation(lines[0][:60] if lines else "(empty)", model, source=source)
    try:
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
    except StoreError:
        # deleting frees pages: it can work when inserting did not (else it stays, empty)
        with contextlib.suppress(StoreError):
            store.delete(conv.id)
        raise
    return message_id


def not_saved(reason: str) -> None:
    """The reply goes on; the user learns it is not being kept (once per reply)."""
    print(f"localthink: warning: this reply is not being saved: {reason}", file=sys.stderr)
