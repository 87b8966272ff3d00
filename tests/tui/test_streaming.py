"""The generation thread wakes the UI for the first token and the end of a reply."""

from __future__ import annotations

from localthink.store.db import Store
from localthink.tui import app as app_module
from localthink.tui.app import ChatApp
from localthink.tui.widgets.reply import ReplyView
from tests.scripted_engine import ANSWER, THINK, ScriptedEngine, scripted_opener


async def test_reply_end_is_drawn_without_waiting_for_the_timer(tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "DRAIN_INTERVAL", 3600)  # the timer never fires here
    app = ChatApp(
        opener=scripted_opener(ScriptedEngine(THINK + ANSWER)), store=Store(tmp_path / "c.db")
    )
    async with app.run_test(size=(110, 30)) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if app.session is not None:
                break
        app.query_one("#prompt").load_text("What is 17 × 23?")
        await pilot.press("enter")
        for _ in range(100):  # 2 s: a reply of this length streams in milliseconds
            await pilot.pause(0.02)
            if app.streaming is None:
                break
        view = app.query_one(ReplyView)
        assert view.done is not None and app.streaming is None
        assert view.answer_text.strip() == "".join(ANSWER).strip()
        assert "ratio" in str(view.figures.render())
