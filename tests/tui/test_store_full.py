"""A chat store that refuses writes (a full disk) never crashes the app or loses a reply."""

from __future__ import annotations

from localthink.store.db import Store
from localthink.tui.app import ChatApp
from localthink.tui.widgets.reply import ReplyView
from tests.scripted_engine import ANSWER, THINK, ScriptedEngine, scripted_opener


async def wait_until(pilot, condition, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)


def notices(app) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications]


async def test_replies_stream_on_and_questions_stay_typed_when_the_store_fails(tmp_path):
    store = Store(tmp_path / "c.db")
    engine = ScriptedEngine(THINK + ANSWER, pause_at=3)
    app = ChatApp(opener=scripted_opener(engine), store=store)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await app.ask("What is 17 × 23?")
        # mid-reply, SQLite starts refusing every write, as it does on a full disk
        # (the engine waits for that: unpaused, the reply could end before the switch)
        await wait_until(pilot, engine.paused.is_set)
        assert engine.paused.is_set()
        store._conn.execute("PRAGMA query_only = ON")
        engine.resume.set()
        await wait_until(pilot, lambda: app.streaming is None)
        view = app.query_one(ReplyView)
        assert view.done is not None  # the reply came in full, on screen
        assert view.answer_text.strip() == "".join(ANSWER).strip()
        [(title, message)] = notices(app)
        assert title == "This reply is not being saved"
        assert "write failed (attempt to write a readonly database)" in message
        # a new question cannot be stored: not sent, kept in the box, one notice
        prompt = app.query_one("#prompt")
        prompt.load_text("And 18 × 23?")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.streaming is None and len(app.query(ReplyView)) == 1
        assert prompt.text == "And 18 × 23?"
        assert notices(app)[-1][0] == "Cannot save the chat"
        # space is back: the same question goes through
        store._conn.execute("PRAGMA query_only = OFF")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.query(ReplyView)) == 2 and app.streaming is None)
        assert store.messages(store.conversations()[0].id)[-1].status == "complete"


async def test_a_new_chat_whose_first_turn_cannot_be_stored_leaves_no_half_of_it(tmp_path):
    store = Store(tmp_path / "c.db")
    app = ChatApp(opener=scripted_opener(ScriptedEngine(ANSWER)), store=store)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        # the chat's row can be written, its messages cannot: the disk fills between them
        store._conn.execute(
            "CREATE TEMP TRIGGER full BEFORE INSERT ON messages"
            " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        prompt = app.query_one("#prompt")
        prompt.load_text("What is 17 × 23?")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert notices(app)[-1][0] == "Cannot save the chat"
        assert store.conversations() == []  # no empty chat in the list
        assert app.conversation_id is None and prompt.text == "What is 17 × 23?"
        assert app.query("#empty")  # the new chat's screen is still up
        store._conn.execute("DROP TRIGGER full")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.streaming is None and app.query(ReplyView))
        [conv] = store.conversations()
        assert [m.role for m in store.messages(conv.id)] == ["user", "assistant"]
        assert store.messages(conv.id)[-1].status == "complete"
        assert not app.query("#empty")
