"""Sidebar search and the thinking controls, driven by Pilot with the scripted engine."""

from __future__ import annotations

from localthink.engine.protocol import SamplingParams
from localthink.store.db import Store
from localthink.tui.app import ChatApp
from localthink.tui.widgets.sidebar import ConversationItem
from localthink.tui.widgets.status import StatusBar
from tests.scripted_engine import ANSWER, THINK, ScriptedEngine, scripted_opener


async def settle(pilot, condition):
    for _ in range(300):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError("app did not settle")


def listed(app) -> list[str]:
    return [item.conversation.title for item in app.query(ConversationItem)]


async def test_the_sidebar_keeps_its_search_after_a_reply(tmp_path):
    store = Store(tmp_path / "c.db")
    for title in ("Rivers of Europe", "Prime numbers", "River deltas"):
        store.new_conversation(title, "scripted-r1")
    app = ChatApp(opener=scripted_opener(ScriptedEngine(THINK + ANSWER)), store=store)
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+f", *"River")
        await settle(pilot, lambda: len(listed(app)) == 2)
        await pilot.click(ConversationItem)
        await settle(pilot, lambda: app.conversation_id is not None)
        app.query_one("#prompt").load_text("Which is longest?")
        app.query_one("#prompt").focus()
        await pilot.press("enter")
        await settle(pilot, lambda: app.streaming is None and store.messages(app.conversation_id))
        await pilot.pause(0.1)
        # before, every reply reloaded the full list while the box still said "River"
        assert sorted(listed(app)) == ["River deltas", "Rivers of Europe"]
        assert app.query_one("#search").value == "River"


async def test_thinking_flags_show_in_the_status_bar_and_are_stored(tmp_path):
    store = Store(tmp_path / "c.db")
    app = ChatApp(
        opener=scripted_opener(ScriptedEngine(THINK + ANSWER)),
        store=store,
        params=SamplingParams(no_think=True),
    )
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot, lambda: app.session is not None)
        assert app.query_one(StatusBar).budget == "no thinking"
        assert app.session.params.no_think
        app.query_one("#prompt").load_text("What is 17 × 23?")
        await pilot.press("enter")
        await settle(pilot, lambda: app.streaming is None and app.conversation_id)
        row = store._conn.execute(
            "SELECT no_think FROM messages WHERE role = 'assistant'"
        ).fetchone()
        assert row[0] == 1
        await pilot.press("ctrl+b")  # the key's caps take over from --no-think
        assert app.query_one(StatusBar).budget == "no thinking"  # unlimited → no thinking
        assert app.session.params.think_budget == 0 and not app.session.params.no_think
        await pilot.press("ctrl+b")
        assert app.query_one(StatusBar).budget == "256 tokens"


async def test_a_search_with_no_match_says_so(tmp_path):
    store = Store(tmp_path / "c.db")
    store.new_conversation("Rivers of Europe", "scripted-r1")
    app = ChatApp(opener=scripted_opener(ScriptedEngine(THINK + ANSWER)), store=store)
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot, lambda: app.session is not None)
        note = app.query_one("#no-match")
        assert not note.display
        await pilot.press("ctrl+f", *"volcano")
        await settle(pilot, lambda: not listed(app))
        assert note.display and str(note.render()) == "No chat mentions 'volcano'."
        await pilot.press(*["backspace"] * 7)
        await settle(pilot, lambda: listed(app) == ["Rivers of Europe"])
        assert not note.display


async def test_a_question_keeps_the_sidebar_items_and_highlights_its_chat(tmp_path):
    """The list is shown again when a reply starts and ends; the items already there stay
    (mounting one per chat each time cost the engine CPU), a new chat and one asked in go
    to the top, and the chat on screen is the highlighted one."""
    store = Store(tmp_path / "c.db")
    for title in ("Oldest chat", "Middle chat", "Newest chat"):
        store.new_conversation(title, "scripted-r1")
    app = ChatApp(opener=scripted_opener(ScriptedEngine(THINK + ANSWER)), store=store)

    def items():
        return list(app.query(ConversationItem))

    def highlighted():
        return [i.conversation.title for i in items() if i.highlighted]

    async def ask(text):
        app.query_one("#prompt").load_text(text)
        app.query_one("#prompt").focus()
        await pilot.press("enter")
        await settle(pilot, lambda: app.streaming is None and listed(app)[0] == want)
        await pilot.pause(0.1)

    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot, lambda: app.session is not None and len(items()) == 3)
        before = {i.conversation.title: i for i in items()}
        want = "Why is the sky blue?"
        await ask(want)
        assert listed(app) == [want, "Newest chat", "Middle chat", "Oldest chat"]
        assert all(before[t] is i for t, i in zip(listed(app)[1:], items()[1:], strict=True))
        assert highlighted() == [want]

        await pilot.click(ConversationItem, offset=(2, 3))  # the fourth: "Oldest chat"
        await settle(pilot, lambda: app.conversation_id == before["Oldest chat"].conversation.id)
        want = "Oldest chat"
        await ask("And at sunset?")
        assert listed(app) == ["Oldest chat", "Why is the sky blue?", "Newest chat", "Middle chat"]
        assert items()[0] is before["Oldest chat"]
        assert highlighted() == ["Oldest chat"]

        # a new chat from the one at the top: the list's index stays 0, and the chat it
        # moved down was left highlighted beside the new one
        await pilot.press("ctrl+n")
        want = "Why do leaves fall?"
        await ask(want)
        assert listed(app)[:2] == [want, "Oldest chat"]
        assert highlighted() == [want]
