"""The generation thread wakes the UI for the first token and the end of a reply."""

from __future__ import annotations

from localthink.store.db import Store
from localthink.tui import app as app_module
from localthink.tui.app import ChatApp
from localthink.tui.widgets.reply import ReplyView
from tests.scripted_engine import ANSWER, THINK, ScriptedEngine, scripted_opener
from tests.tui.test_controls import settle


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


async def test_the_log_follows_a_reply_until_the_user_scrolls_up(tmp_path):
    """The end of a growing reply stays in view; scrolled up, the view stays where the
    user put it while the reply grows; a new question goes back to the end."""
    lines = [f"line {i} of a long answer\n\n" for i in range(60)]
    engine = ScriptedEngine(lines, starts_inside=False, pause_at=30)
    app = ChatApp(opener=scripted_opener(engine), store=Store(tmp_path / "c.db"))

    async with app.run_test(size=(90, 24)) as pilot:
        await settle(pilot, lambda: app.session is not None)
        log = app.query_one("#log")
        app.query_one("#prompt").load_text("Write many lines.")
        await pilot.press("enter")
        await settle(pilot, lambda: engine.paused.is_set() and not app.buffer._events)
        await pilot.pause(0.3)
        assert log.max_scroll_y > 10 and log.scroll_y == log.max_scroll_y  # at the end

        log.scroll_to(y=log.max_scroll_y - 8, animate=False)  # the user reads back up
        await pilot.pause(0.1)
        held = log.scroll_y
        assert held < log.max_scroll_y - 2
        engine.resume.set()
        await settle(pilot, lambda: app.streaming is None)
        await pilot.pause(0.2)
        # not pulled to the end (the text above settles into Markdown, so rows may shift)
        assert log.scroll_y < log.max_scroll_y - 20

        engine.paused.clear()
        engine.resume.clear()
        app.query_one("#prompt").load_text("And again.")
        await pilot.press("enter")
        await settle(pilot, lambda: engine.paused.is_set() and not app.buffer._events)
        await pilot.pause(0.3)
        assert log.scroll_y == log.max_scroll_y > held  # back at the end
        engine.resume.set()
        await settle(pilot, lambda: app.streaming is None)


async def test_quitting_mid_reply_stops_it_and_keeps_what_came(tmp_path):
    """The reply's thread is not a daemon: at exit it hears the stop, and the row it stores
    says 'stopped' with the text so far, not 'streaming' for ever."""
    import threading

    engine = ScriptedEngine(THINK + ANSWER, pause_at=12)
    store = Store(tmp_path / "c.db")
    app = ChatApp(opener=scripted_opener(engine), store=store)
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot, lambda: app.session is not None)
        app.query_one("#prompt").load_text("What is 17 × 23?")
        await pilot.press("enter")
        await settle(pilot, engine.paused.is_set)
        # started at once, not when the event loop next ran (the request goes first)
        generating = [t for t in threading.enumerate() if t.name == "generate"]
        assert len(generating) == 1 and not generating[0].daemon
    generating[0].join(timeout=10)  # the app is gone: the stop it set ends the reply
    assert not generating[0].is_alive()
    (conv,) = store.conversations()
    reply = store.messages(conv.id)[-1]
    assert reply.role == "assistant" and reply.status == "stopped"
    assert reply.thinking == "".join(THINK[:12]) and reply.content == ""  # what came


async def _paused_reply(tmp_path, monkeypatch, paragraphs: int) -> tuple[ReplyView, str]:
    """Stream `paragraphs` answer paragraphs (a clock that moves 5 s a reading: more than
    MARKDOWN_EVERY), paused before the last (two frames at least); the reply, its text."""
    from localthink.tui.widgets import reply as reply_module

    clock = iter(range(0, 50_000, 5))
    monkeypatch.setattr(reply_module, "now", lambda: float(next(clock)))
    pieces = [f"Paragraph {i} of the answer, with a **bold** word in it.\n\n" for i in range(40)]
    engine = ScriptedEngine(pieces[:paragraphs], starts_inside=False, pause_at=paragraphs - 1)
    app = ChatApp(opener=scripted_opener(engine), store=Store(tmp_path / "c.db"))
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot, lambda: app.session is not None)
        app.query_one("#prompt").load_text("Answer at length.")
        await pilot.press("enter")
        await settle(pilot, lambda: engine.paused.is_set() and not app.buffer._events)
        await pilot.pause(0.2)
        view = app.query_one(ReplyView)
        engine.resume.set()
        await settle(pilot, lambda: app.streaming is None)
        assert view.answer.source == "".join(pieces[:paragraphs])  # all Markdown at the end
        return view, "".join(pieces[:paragraphs])


async def test_a_long_answer_becomes_markdown_while_it_streams(tmp_path, monkeypatch):
    from localthink.tui.widgets.reply import MARKDOWN_AFTER

    markdown, tail = [], []
    original = ReplyView._stream_answer

    async def spy(self):  # what the Markdown and the plain tail held at each frame
        took = await original(self)
        markdown.append(self.answer.source)
        tail.append(self.tail.text)
        return took

    monkeypatch.setattr(ReplyView, "_stream_answer", spy)
    view, text = await _paused_reply(tmp_path, monkeypatch, 40)  # ~2,400 characters
    # the last frame before the end: finished paragraphs in the Markdown, the rest plain
    assert markdown[-1] and text.startswith(markdown[-1]) and markdown[-1].endswith("\n\n")
    assert markdown[-1] + tail[-1] == text  # nothing lost or shown twice
    assert max(len(t) for t in tail) < MARKDOWN_AFTER + 100  # joined once it was long


async def test_a_short_answer_stays_plain_until_it_ends(tmp_path, monkeypatch):
    """Formatting it mid-reply would lay the screen out again while the engine works."""
    tails = []
    original = ReplyView._stream_answer

    async def spy(self):
        took = await original(self)
        tails.append((self.answer.source, self.tail.text))
        return took

    monkeypatch.setattr(ReplyView, "_stream_answer", spy)
    view, text = await _paused_reply(tmp_path, monkeypatch, 8)  # ~480 characters
    assert tails[-1] == ("", text)  # all of it plain to the last frame, many seconds on
    assert not view.tail.display and view.tail.text == ""  # ended: all Markdown


async def test_the_first_question_does_not_wait_for_the_stylesheet_to_be_parsed(tmp_path):
    """A widget class's CSS joins the stylesheet when the class is first mounted, and then
    Textual parses every rule again: the app mounts a hidden turn after its first frame so
    that the first reply's start (beside llama.cpp reading the prompt) does not do it."""
    app = ChatApp(
        opener=scripted_opener(ScriptedEngine(THINK + ANSWER)), store=Store(tmp_path / "c.db")
    )
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot, lambda: app.session is not None and not app.query("#warm-up"))
        parses = []
        parse = app.stylesheet.parse
        app.stylesheet.parse = lambda: parses.append(1) or parse()
        app.query_one("#prompt").load_text("What is 17 × 23?")
        await pilot.press("enter")
        await settle(pilot, lambda: app.streaming is None)
        assert app.query_one(ReplyView).done is not None
        assert parses == []
