import json
import sqlite3

import pytest

from localthink.engine.protocol import AnswerDelta, Done, ReplyStats, ThinkDelta
from localthink.errors import StoreError
from localthink.store.db import Store
from localthink.store.export import export_conversation
from localthink.store.reply_writer import ReplyWriter
from localthink.store.schema import MIGRATIONS


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "chats.db")
    yield s
    s.close()


def test_new_store_is_wal_and_at_latest_schema(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_store_from_a_newer_localthink_is_refused(tmp_path):
    path = tmp_path / "future.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this localthink"):
        Store(path)


def test_not_a_database_is_a_one_line_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(path)


def test_conversations_newest_first_search_rename_delete(store):
    a = store.new_conversation("About rivers", "m")
    b = store.new_conversation("About ships", "m")
    store.add_message(a.id, "user", "Tell me about the Danube")
    assert [c.id for c in store.conversations()] == [a.id, b.id]  # a was just updated
    assert [c.id for c in store.conversations("danube")] == [a.id]
    assert [c.id for c in store.conversations("ships")] == [b.id]
    store.rename(b.id, "Boats")
    assert store.conversation(b.id).title == "Boats"
    store.delete(a.id)
    assert [c.id for c in store.conversations()] == [b.id]
    assert store.messages(a.id) == []  # cascaded


def test_a_transaction_commits_its_writes_together_or_none(store):
    with store.transaction():
        conv = store.new_conversation("together")
        store.add_message(conv.id, "user", "asked")
        # not yet on disk: a second connection (another localthink) sees nothing
        other = sqlite3.connect(store.path)
        assert other.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    assert other.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1
    # a write that fails inside (here a message to no chat) takes the others with it
    with pytest.raises(StoreError, match="write failed"), store.transaction():
        store.new_conversation("half a turn")
        store.add_message(10_000, "user", "to no chat")
    assert [c.title for c in store.conversations()] == ["together"]
    store.add_message(conv.id, "assistant", "and the store writes on afterwards")
    assert len(store.messages(conv.id)) == 2


def test_reply_writer_writes_while_streaming_and_final_figures(store):
    conv = store.new_conversation("t")
    mid = store.add_message(conv.id, "assistant", status="streaming")
    t = [0.0]
    w = ReplyWriter(store, mid, interval=1.0, clock=lambda: t[0])

    def at(when, event):
        t[0] = when
        w.on_event(event)

    at(0.5, ThinkDelta("a"))  # too soon after the start
    assert store.message(mid).thinking == ""
    at(1.2, ThinkDelta("b"))
    assert store.message(mid).thinking == "ab" and store.message(mid).status == "streaming"
    at(1.4, AnswerDelta("x"))  # too soon after the last write
    assert store.message(mid).content == ""
    at(2.3, AnswerDelta("y"))
    assert store.message(mid).content == "xy"
    stats = ReplyStats(prompt_tokens=9, thinking_tokens=2, answer_tokens=2, stop_reason="length")
    w.on_event(Done("ab", "xy", stats))
    m = store.message(mid)
    assert m.status == "truncated"
    assert m.figures["thinking_tokens"] == 2 and m.figures["stop_reason"] == "length"


def test_export_markdown_and_json(store):
    conv = store.new_conversation("Sums", "r1")
    store.add_message(conv.id, "user", "What is 2+2?")
    mid = store.add_message(conv.id, "assistant", model="r1", status="streaming")
    stats = ReplyStats(thinking_tokens=5, answer_tokens=3, thinking_s=1.5, gen_tokens_per_s=20.0)
    store.update_reply(mid, "2 plus 2 is 4.", "**4**", "complete", stats.to_dict())
    md = export_conversation(store, conv.id, "md")
    assert md.startswith("# Sums")
    assert "## You\n\nWhat is 2+2?" in md
    assert "<details><summary>Thinking</summary>\n\n2 plus 2 is 4." in md
    assert "thinking 5 tok in 1.5 s" in md and "20.0 tok/s" in md
    data = json.loads(export_conversation(store, conv.id, "json"))
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert data["messages"][1]["thinking"] == "2 plus 2 is 4."
    assert data["messages"][1]["figures"]["answer_tokens"] == 3


def test_a_v2_store_gains_edit_versions_and_chat_settings_keeping_its_rows(tmp_path):
    from localthink.store.chat_settings import chat_settings, set_chat_settings
    from localthink.store.edits import earlier_versions, resend_question

    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + MIGRATIONS[1] + "\nPRAGMA user_version = 2;")
    conn.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 'old', 0, 0)"
    )
    for i, role in enumerate(("user", "assistant"), start=1):
        conn.execute(
            "INSERT INTO messages (id, conversation_id, role, content, created_at, updated_at)"
            " VALUES (?, 1, ?, ?, 0, 0)",
            (i, role, f"{role} text"),
        )
    conn.commit()
    conn.close()
    store = Store(path)
    assert [m.content for m in store.messages(1)] == ["user text", "assistant text"]
    assert chat_settings(store, 1) == {}
    set_chat_settings(store, 1, {"temperature": 0.3, "system": "Be brief."})
    assert chat_settings(store, 1) == {"temperature": 0.3, "system": "Be brief."}
    new = resend_question(store, 1, 1, "user text, edited")
    assert [m.content for m in store.messages(1)] == ["user text, edited"]
    [version] = earlier_versions(store, new)
    assert version.question.id == 1 and [r.id for r in version.replies] == [2]
