"""Conversations and messages in a local SQLite file (WAL mode, one writer lock)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from localthink.config import paths
from localthink.errors import StoreError
from localthink.store.schema import MIGRATIONS, migrate

OUTCOMES = ("think_budget", "min_think", "no_think", "reference", "correct")
STATUSES = ("streaming", "complete", "stopped", "truncated", "error", "incomplete")
FIGURES = (
    "prompt_tokens",
    "thinking_tokens",
    "answer_tokens",
    "ttft_s",
    "thinking_s",
    "answer_s",
    "gen_tokens_per_s",
    "prompt_tokens_per_s",
    "stop_reason",
    "thinking_closed",
)


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    model: str
    created_at: float
    updated_at: float
    source: str = "chat"
    settings: str = "{}"  # JSON; read it with store.chat_settings.chat_settings


@dataclass(frozen=True)
class StoredMessage:
    id: int
    conversation_id: int
    role: str
    content: str
    thinking: str
    model: str
    params: dict
    status: str
    figures: dict
    created_at: float
    updated_at: float

    def to_dict(self) -> dict:
        return asdict(self)


def _params(text: str | None) -> dict:
    """A reply's sampling settings; a damaged value loses only them, not the reply."""
    try:
        params = json.loads(text or "{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def _message(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        content=row["content"],
        thinking=row["thinking"],
        model=row["model"],
        params=_params(row["params"]),
        status=row["status"],
        figures={k: row[k] for k in FIGURES if row[k] is not None},
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class Store:
    """All reads and writes of chats. Safe to share between the UI and a worker thread."""

    def __init__(self, path: str | Path, *, reading: bool = False) -> None:
        """`reading`: for commands that only read (stats, export): when the store cannot be
        opened for writing (a read-only or full disk), it is opened to read as it is."""
        self.path = path = Path(path)
        self._lock = threading.RLock()  # transaction() holds it around each write inside
        self._joined = False  # a transaction is open: writes join it
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=5000")
            migrate(self._conn)
            # A reply still 'streaming' at open time was cut off by a crash or a kill.
            self._conn.execute(
                "UPDATE messages SET status = 'incomplete' WHERE status = 'streaming'"
            )
        except (sqlite3.DatabaseError, OSError) as exc:
            if getattr(self, "_conn", None) is not None:
                self._conn.close()
            if not (reading and path.is_file() and self._open_as_it_is()):
                raise StoreError(f"{path}: cannot open the chat store ({exc})") from None

    def _open_as_it_is(self) -> bool:
        """Read-only, then immutable: SQLite cannot open a WAL database read-only where it
        cannot make its -shm file (a read-only disk). A clean close leaves no WAL, so
        nothing is missed then; after a crash, the last second of a reply may be."""
        for query in ("mode=ro", "immutable=1"):
            try:
                conn = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?{query}", uri=True, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
                if conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
                    self._conn = conn
                    return True
                conn.close()
            except sqlite3.DatabaseError:
                continue
        return False

    @contextmanager
    def transaction(self):
        """The writes made inside go to disk together, in one commit, or none of them."""
        with self._tx():
            yield

    @contextmanager
    def _tx(self):
        with self._lock:
            if self._joined:  # inside transaction(): its commit is ours
                yield self._conn
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._joined = True
                try:
                    yield self._conn
                finally:
                    self._joined = False
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:  # a full disk, a locked or damaged file
                self._rollback()
                raise StoreError(f"{self.path}: write failed ({exc})") from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        # SQLite may already have rolled the transaction back itself (a full disk can)
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.DatabaseError):  # the error raised says more
                self._conn.execute("ROLLBACK")

    def query(self, sql: str, args=()) -> list[sqlite3.Row]:
        """All rows of a read; a damaged file is one line, not a traceback."""
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot read the chat store ({exc})") from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # conversations

    def new_conversation(
        self, title: str = "New chat", model: str = "", source: str = "chat"
    ) -> Conversation:
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO conversations (title, model, created_at, updated_at, source)"
                " VALUES (?,?,?,?,?)",
                (title, model, now, now, source),
            )
        return self.conversation(cur.lastrowid)

    def conversation(self, conversation_id: int) -> Conversation:
        rows = self.query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if not rows:
            raise StoreError(f"no conversation {conversation_id}")
        return Conversation(**dict(rows[0]))

    def conversations(
        self, search: str = "", sources: tuple[str, ...] | None = ("chat",)
    ) -> list[Conversation]:
        """Newest first; `search` matches titles and message text; `sources=None` means all
        (by default only chat-app conversations, not `ask` or batch runs)."""
        where, args = [], []
        if sources is not None:
            where.append(f"c.source IN ({','.join('?' * len(sources))})")
            args += list(sources)
        if search:  # the text itself: % and _ match only themselves
            text = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{text}%"
            where.append(
                "(c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m"
                " WHERE m.conversation_id = c.id"
                " AND (m.content LIKE ? ESCAPE '\\' OR m.thinking LIKE ? ESCAPE '\\')))"
            )
            args += [like, like, like]
        sql = "SELECT c.* FROM conversations c"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.query(sql + " ORDER BY c.updated_at DESC, c.id DESC", args)
        return [Conversation(**dict(r)) for r in rows]

    def rename(self, conversation_id: int, title: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, conversation_id: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # messages

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        """The conversation as it stands: earlier versions of edited turns left out."""
        rows = self.query(
            "SELECT * FROM messages WHERE conversation_id = ? AND replaced_by IS NULL ORDER BY id",
            (conversation_id,),
        )
        return [_message(r) for r in rows]

    def message(self, message_id: int) -> StoredMessage:
        rows = self.query("SELECT * FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise StoreError(f"no message {message_id}")
        return _message(rows[0])

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str = "",
        *,
        thinking: str = "",
        model: str = "",
        params: dict | None = None,
        status: str = "complete",
    ) -> int:
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO messages (conversation_id, role, content, thinking, model, params,"
                " status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    conversation_id,
                    role,
                    content,
                    thinking,
                    model,
                    json.dumps(params or {}),
                    status,
                    now,
                    now,
                ),
            )
            c.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
            )
        return cur.lastrowid

    def update_reply(
        self,
        message_id: int,
        thinking: str,
        answer: str,
        status: str = "streaming",
        figures: dict | None = None,
    ) -> None:
        """Overwrite a reply's text (and, when done, its status and figures)."""
        if status not in STATUSES:
            raise ValueError(status)
        # No figure is negative: an empty reply's answer_s came out as minus the prompt's
        # reading time (the engine timed "answer" from the end back to the start).
        figures = {
            k: max(v, 0) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
            for k, v in (figures or {}).items()
            if k in FIGURES
        }
        sets = ", ".join(f"{k} = ?" for k in figures)
        with self._tx() as c:
            c.execute(
                f"UPDATE messages SET thinking = ?, content = ?, status = ?, updated_at = ?"
                f"{', ' + sets if sets else ''} WHERE id = ?",
                (thinking, answer, status, time.time(), *figures.values(), message_id),
            )

    def set_outcome(self, message_id: int, **fields) -> None:
        """Record a reply's budget settings, reference answer or verdict."""
        unknown = set(fields) - set(OUTCOMES)
        if unknown:
            raise ValueError(unknown)
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as c:
            c.execute(f"UPDATE messages SET {sets} WHERE id = ?", (*fields.values(), message_id))

    def delete_message(self, message_id: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM messages WHERE id = ?", (message_id,))


def open_store(path: Path | None = None, *, reading: bool = False) -> Store:
    """The user's chat store (creating it on first use; `reading`: see Store)."""
    return Store(path or paths().db_path, reading=reading)
