"""The SQLite schema, as numbered migrations applied in order (PRAGMA user_version)."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: conversations and messages; thinking and answer kept apart, figures as columns
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        model TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
        content TEXT NOT NULL DEFAULT '',
        thinking TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'complete',
        prompt_tokens INTEGER,
        thinking_tokens INTEGER,
        answer_tokens INTEGER,
        ttft_s REAL,
        thinking_s REAL,
        answer_s REAL,
        gen_tokens_per_s REAL,
        prompt_tokens_per_s REAL,
        stop_reason TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
    CREATE INDEX conversations_by_update ON conversations (updated_at DESC);
    """,
    # 2: where a conversation came from, budgets used, reference answers and verdicts
    """
    ALTER TABLE conversations ADD COLUMN source TEXT NOT NULL DEFAULT 'chat';
    ALTER TABLE messages ADD COLUMN thinking_closed INTEGER;
    ALTER TABLE messages ADD COLUMN think_budget INTEGER;
    ALTER TABLE messages ADD COLUMN min_think INTEGER;
    ALTER TABLE messages ADD COLUMN no_think INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN reference TEXT;
    ALTER TABLE messages ADD COLUMN correct INTEGER;
    CREATE INDEX messages_by_time ON messages (created_at);
    """,
    # 3: edited questions keep their earlier versions (replaced_by: the user message of the
    # turn that replaced them; NULL for the current one); per-chat settings as JSON
    """
    ALTER TABLE messages ADD COLUMN replaced_by INTEGER REFERENCES messages(id);
    ALTER TABLE conversations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX messages_by_replacement ON messages (replaced_by);
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to the latest schema; return the version it is now at."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"database schema v{version} is newer than this localthink (v{len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        # executescript commits first, so each migration runs in its own explicit transaction
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)
