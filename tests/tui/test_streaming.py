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


def test_the_window_draws_half_as_often_when_generation_holds_every_cpu():
    from localthink.engine.protocol import ModelInfo
    from localthink.tui.app import DRAIN_INTERVAL, DRAIN_INTERVAL_CORES_HELD, frame_interval

    cpu = ModelInfo("m", "m.gguf", cpu_threads=2)
    assert frame_interval(cpu, cpus=2) == DRAIN_INTERVAL_CORES_HELD  # a 2-core laptop
    assert frame_interval(cpu, cpus=4) == DRAIN_INTERVAL  # hyper-threads to spare
    assert frame_interval(ModelInfo("m", "m.gguf", backend="CUDA", cpu_threads=2), 2) == (
        DRAIN_INTERVAL
    )
    assert frame_interval(ModelInfo("m", "m.gguf"), cpus=1) == DRAIN_INTERVAL  # not known
    assert DRAIN_INTERVAL_CORES_HELD > DRAIN_INTERVAL
