"""A new question goes to the top of the chat, and its reply grows into the screen below it
(ChatLog.hold_room): no layout while it fits, nothing moves when it ends."""

from __future__ import annotations

from localthink.store.db import Store
from localthink.tui.app import ChatApp
from localthink.tui.screen import ChatScreen
from localthink.tui.widgets.chat_log import ChatLog
from localthink.tui.widgets.live_text import STEP
from localthink.tui.widgets.messages import UserMessage
from localthink.tui.widgets.reply import ReplyView
from tests.scripted_engine import ANSWER, THINK, ScriptedEngine, scripted_opener


def _question_top(app: ChatApp) -> int:
    """Rows from the log's top edge to the last question's top margin."""
    question = app.query(UserMessage).last()
    return question.region.y - question.styles.margin.top - app.query_one(ChatLog).region.y


def _count_layouts(app: ChatApp, monkeypatch) -> list[bool]:
    """Per layout of the screen from now on, whether a reply was streaming."""
    layouts: list[bool] = []
    refresh_layout = ChatScreen._refresh_layout

    def counted(screen, *args, **kwargs):
        layouts.append(app.streaming is not None)
        return refresh_layout(screen, *args, **kwargs)

    monkeypatch.setattr(ChatScreen, "_refresh_layout", counted)
    return layouts


async def _ask(app, pilot, engine, question: str, answer: int, layouts: list) -> None:
    """Ask, let the reply pause in its answer, then run it to its end; `layouts` gets, per
    layout of the screen, whether the reply was streaming."""
    engine.pieces = THINK + ANSWER * answer
    engine.pause_at = len(THINK) + 2
    engine.paused.clear()
    engine.resume.clear()
    app.query_one("#prompt").load_text(question)
    await pilot.press("enter")
    while not engine.paused.is_set():
        await pilot.pause(0.02)
    for _ in range(6):
        await pilot.pause(0.05)
    layouts.clear()
    engine.resume.set()
    while app.streaming is not None:
        await pilot.pause(0.02)
    for _ in range(6):
        await pilot.pause(0.05)


async def test_a_question_in_a_tall_chat_goes_to_the_top_and_its_reply_grows_below_it(
    tmp_path, monkeypatch
):
    store = Store(tmp_path / "c.db")
    conv = store.new_conversation("bicycles", "m")
    for i in range(12):  # taller than the screen
        store.add_message(conv.id, "user", f"Question {i}: why does a bicycle stay up?")
        store.add_message(conv.id, "assistant", "It **keeps moving**:\n\n- trail\n- speed")
    engine = ScriptedEngine(THINK, piece_seconds=0.02)
    app = ChatApp(opener=scripted_opener(engine), store=store)
    layouts = _count_layouts(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        while app.session is None:
            await pilot.pause(0.02)
        await app.show_conversation(conv.id)
        await pilot.pause(0.2)
        log = app.query_one(ChatLog)
        assert log.max_scroll_y > 0

        # 3 answers' worth of rows (12): more than a growth step, less than the screen
        await _ask(app, pilot, engine, "What is 17 × 23?", 3, layouts)
        reply = app.query(ReplyView).last()
        # the reply grew after the pause without a layout; those at its end come after
        assert True not in layouts, layouts
        assert _question_top(app) == 0  # the question at the top, as it ended
        assert log.scroll_y == log.max_scroll_y  # following: the end of the log
        figures = reply.figures.region
        assert figures.height and figures.bottom <= log.region.bottom  # all of it shows
        assert "answer" in str(reply.figures.render())
        await pilot.resize_terminal(100, 36)  # a taller window: the turn fills it again
        for _ in range(4):
            await pilot.pause(0.05)
        assert _question_top(app) == 0
        assert reply.region.bottom + reply.styles.margin.bottom == log.region.bottom

        # the next question takes the screen; the reply before gives its rows back
        await _ask(app, pilot, engine, "And 17 × 24?", 1, layouts)
        assert reply.styles.min_height is None
        assert reply.size.height < 20  # its own height again
        assert _question_top(app) == 0


async def test_a_new_chat_s_first_reply_fills_the_screen_without_scrolling(tmp_path):
    engine = ScriptedEngine(THINK, piece_seconds=0.02)
    app = ChatApp(opener=scripted_opener(engine), store=Store(tmp_path / "c.db"))
    async with app.run_test(size=(100, 30)) as pilot:
        while app.session is None:
            await pilot.pause(0.02)
        await _ask(app, pilot, engine, "What is 17 × 23?", 1, [])
        log = app.query_one(ChatLog)
        reply = app.query(ReplyView).last()
        # the turn ends at the log's bottom edge, not a row past it
        assert log.max_scroll_y == 0 and _question_top(app) == 0
        assert reply.region.bottom + reply.styles.margin.bottom == log.content_region.bottom


async def test_an_answer_without_thinking_takes_the_held_rows_in_the_layout_that_shows_it(
    tmp_path, monkeypatch
):
    # a model that does not think: its first text hides the empty thinking header, and
    # the answer's rows are reserved in that layout, not in another when it outgrows STEP
    engine = ScriptedEngine(ANSWER * 3, starts_inside=False, pause_at=2, piece_seconds=0.02)
    app = ChatApp(opener=scripted_opener(engine), store=Store(tmp_path / "c.db"))
    layouts = _count_layouts(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        while app.session is None:
            await pilot.pause(0.02)
        app.query_one("#prompt").load_text("What is 17 × 23?")
        await pilot.press("enter")
        while not engine.paused.is_set():
            await pilot.pause(0.02)
        for _ in range(6):
            await pilot.pause(0.05)
        reply = app.query(ReplyView).last()
        assert not reply.thinking.display and reply.tail.region.height > 0
        layouts.clear()
        engine.resume.set()
        while app.streaming is not None:
            await pilot.pause(0.02)
        # 12 rows of plain text (9 as Markdown), more than STEP: they grew into the rows
        # held for them
        assert reply.tail.reserved == 0 and reply.answer.region.height > STEP
        assert True not in layouts, layouts
