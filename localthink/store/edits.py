"""Edited questions: resent in place (the old turn kept as an earlier version) or forked."""

from __future__ import annotations

import time
from dataclasses import dataclass

from localthink.store.db import Conversation, Store, StoredMessage, _message


@dataclass(frozen=True)
class Version:
    """An earlier version of a turn: its question and the replies it had."""

    question: StoredMessage
    replies: list[StoredMessage]


def resend_question(store: Store, conversation_id: int, old_question_id: int, text: str) -> int:
    """Store `text` as the question that replaces `old_question_id` and everything after it
    (kept, marked replaced); returns the new question's id."""
    now = time.time()
    with store._tx() as c:
        new_id = c.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at, updated_at)"
            " VALUES (?, 'user', ?, ?, ?)",
            (conversation_id, text, now, now),
        ).lastrowid
        c.execute(
            "UPDATE messages SET replaced_by = ? WHERE conversation_id = ? AND id >= ?"
            " AND id < ? AND replaced_by IS NULL",
            (new_id, conversation_id, old_question_id, new_id),
        )
        c.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
    return new_id


def earlier_versions(store: Store, question_id: int) -> list[Version]:
    """Every version this turn replaced, oldest first (a turn edited twice has two)."""
    versions: list[Version] = []
    current = question_id
    while True:
        rows = [_message(r) for r in store.query(
            "SELECT * FROM messages WHERE replaced_by = ? ORDER BY id", (current,)
        )]  # fmt: skip
        questions = [m for m in rows if m.role == "user"]
        if not questions:
            return versions[::-1]
        question = questions[0]
        replies = [m for m in rows if m.role == "assistant" and m.id > question.id]
        versions.append(Version(question, replies))
        current = question.id


def fork_conversation(
    store: Store, conversation_id: int, before_id: int, title: str
) -> Conversation:
    """A new conversation holding copies of the current messages before `before_id`, with
    the original's settings; the original is untouched."""
    original = store.conversation(conversation_id)
    now = time.time()
    with store._tx() as c:
        new_id = c.execute(
            "INSERT INTO conversations (title, model, created_at, updated_at, source, settings)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (title, original.model, now, now, original.source, original.settings),
        ).lastrowid
        columns = (
            "role, content, thinking, model, params, status, prompt_tokens, thinking_tokens,"
            " answer_tokens, ttft_s, thinking_s, answer_s, gen_tokens_per_s,"
            " prompt_tokens_per_s, stop_reason, thinking_closed, think_budget, min_think,"
            " no_think, reference, correct, created_at, updated_at"
        )
        c.execute(
            f"INSERT INTO messages (conversation_id, {columns}) SELECT ?, {columns}"
            " FROM messages WHERE conversation_id = ? AND id < ? AND replaced_by IS NULL"
            " ORDER BY id",
            (new_id, conversation_id, before_id),
        )
    return store.conversation(new_id)
