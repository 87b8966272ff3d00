"""The chat status bar and a reply's figures line name the thread count the engine
generated the reply with."""

from __future__ import annotations

from localthink.engine.llama import default_threads
from localthink.tui.widgets.reply import ReplyView
from localthink.tui.widgets.status import StatusBar
from tests.tui.test_app_real_model import make_app, wait_for


def test_the_bar_names_the_count_and_drops_it_first_when_narrow():
    bar = StatusBar()
    bar.model, bar.ctx_size, bar.threads = "smollm2", 2048, 3
    assert ("3 threads", None) in bar.parts()
    bar.threads = 1
    assert ("1 thread", None) in bar.parts()
    bar.threads = 0  # no reply yet (or an engine that does not say)
    assert not any("thread" in full for full, _ in bar.parts())


async def test_after_a_real_reply_the_bar_shows_the_childs_count(tmp_path, smollm2_path):
    app, _ = make_app(tmp_path, smollm2_path, max_tokens=24)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        app.query_one("#prompt").load_text("Say hello.")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.streaming is None and app.query_one(StatusBar).threads)
        bar = app.query_one(StatusBar)
        assert 1 <= bar.threads <= default_threads()
        assert f"{bar.threads} thread" in str(bar.render())
        # and the reply's own figures line, as `ask` prints it
        figures = str(app.query_one(ReplyView).figures.render())
        assert f" tok/s · {bar.threads} thread" in figures, figures
