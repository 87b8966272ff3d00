"""Snapshots of what the user sees, with a scripted engine so every frame is repeatable.

Update after a deliberate UI change: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from localthink.store.db import Store
from localthink.tui import widgets
from localthink.tui.app import ChatApp
from localthink.tui.widgets.prompt import PromptInput
from localthink.tui.widgets.reply import ReplyView
from tests.scripted_engine import ANSWER, THINK, ScriptedEngine, scripted_opener

SIZE = (110, 30)
SIZES = [(60, 20), (120, 40)]  # a small terminal and a roomy one (issue 19)


@pytest.fixture(autouse=True)
def steady_frames(monkeypatch):
    """Freeze what moves on its own: the thinking timer and the prompt's blinking cursor.

    The cursor blinks every 0.5 s; a frame taken on the off-beat differed (a CI flake).
    """
    monkeypatch.setattr(widgets.reply, "now", lambda: 100.0)
    init = PromptInput.__init__

    def steady_prompt(self) -> None:
        init(self)
        self.cursor_blink = False

    monkeypatch.setattr(PromptInput, "__init__", steady_prompt)


async def settle(pilot, condition):
    for _ in range(400):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError("app did not settle")


def app_with(engine, tmp_path) -> ChatApp:
    return ChatApp(opener=scripted_opener(engine), store=Store(tmp_path / "chats.db"))


async def ask(pilot, app, text="What is 17 × 23?"):
    await settle(pilot, lambda: app.session is not None)
    app.query_one("#prompt").load_text(text)
    await pilot.press("enter")


def test_mid_thinking(snap_compare, tmp_path):
    engine = ScriptedEngine(THINK + ANSWER, pause_at=12)
    app = app_with(engine, tmp_path)

    async def run_before(pilot):
        await ask(pilot, app)
        await settle(
            pilot,
            lambda: (
                engine.paused.is_set()
                and app.query(ReplyView)
                and len(app.query_one(ReplyView).thinking_parts) >= 11
            ),
        )

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_after_answer(snap_compare, tmp_path):
    app = app_with(ScriptedEngine(THINK + ANSWER), tmp_path)

    async def run_before(pilot):
        await ask(pilot, app)
        await settle(
            pilot,
            lambda: (
                app.streaming is None
                and app.query(ReplyView)
                and app.query_one(ReplyView).done is not None
            ),
        )
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_model_picker(snap_compare, tmp_path, monkeypatch):
    from localthink.tui.screens import model_picker

    # "fits" depends on the free memory of the moment; pin it so the frame is repeatable
    monkeypatch.setattr(model_picker, "fits", lambda size: size < 8 * 2**30)
    app = app_with(ScriptedEngine(ANSWER), tmp_path)

    async def run_before(pilot):
        await settle(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+o")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, tmp_path):
    app = app_with(ScriptedEngine(ANSWER), tmp_path)

    async def run_before(pilot):
        await settle(pilot, lambda: app.session is not None)
        await pilot.press("f1")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_budget_key_sets_the_budget_used_and_stored(tmp_path):
    from localthink.store.stats import query_rows
    from localthink.tui.screens.stats import StatsScreen
    from localthink.tui.widgets.status import StatusBar

    engine = ScriptedEngine(THINK + ANSWER)
    app = app_with(engine, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+b", "ctrl+b")  # unlimited → no thinking → 256
        assert app.session.params.think_budget == 256
        assert "thinking budget: 256 tokens" in str(app.query_one(StatusBar).render())
        await ask(pilot, app)
        await settle(
            pilot,
            lambda: (
                app.streaming is None
                and app.query(ReplyView)
                and app.query_one(ReplyView).done is not None
            ),
        )
        [row] = query_rows(app.store)
        assert row.think_budget == 256 and row.thinking_tokens == 19
        await pilot.press("f3")
        await settle(pilot, lambda: isinstance(app.screen, StatsScreen))
        table = app.screen.query_one("#queries")
        assert table.row_count == 1
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[-3:] == ["answer s", "stop", "correct"] and table.get_row_at(0)[-1] == "-"
        models = app.screen.query_one("#models")
        assert str(list(models.columns.values())[-1].label) == "accuracy"
        assert "thinking vs answer tokens" in str(app.screen.query_one("#chart").render())


async def answered(pilot, app):
    await ask(pilot, app)
    await settle(
        pilot,
        lambda: (
            app.streaming is None
            and app.query(ReplyView)
            and app.query_one(ReplyView).done is not None
        ),
    )
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_after_answer_with_a_budget_at(snap_compare, tmp_path, size):
    """Below 80 columns the sidebar hides; the header and status bar shorten, not cut."""
    from localthink.engine.protocol import SamplingParams

    app = ChatApp(
        opener=scripted_opener(ScriptedEngine(THINK + ANSWER)),
        store=Store(tmp_path / "chats.db"),
        params=SamplingParams(think_budget=24),
    )

    async def run_before(pilot):
        await answered(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_model_picker_at(snap_compare, tmp_path, monkeypatch, size):
    from localthink.tui.screens import model_picker

    monkeypatch.setattr(model_picker, "fits", lambda size: size < 8 * 2**30)
    app = app_with(ScriptedEngine(ANSWER), tmp_path)

    async def run_before(pilot):
        await settle(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+o")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_stats_at(snap_compare, tmp_path, size):
    app = app_with(ScriptedEngine(THINK + ANSWER), tmp_path)

    async def run_before(pilot):
        await answered(pilot, app)
        await pilot.press("f3")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_the_sidebar_hides_when_narrow_and_a_key_shows_it(tmp_path):
    from localthink.tui.widgets.sidebar import Sidebar
    from localthink.tui.widgets.status import StatusBar

    app = app_with(ScriptedEngine(THINK + ANSWER), tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot, lambda: app.session is not None)
        app.action_cycle_budget()
        app.action_cycle_budget()  # a 256-token budget, said in the status bar
        await pilot.pause(0.1)
        sidebar, bar = app.query_one(Sidebar), app.query_one(StatusBar)
        assert not sidebar.display  # it kept its 29 columns of 60
        assert "budget 256" in str(bar.render())  # it was cut off
        assert len(str(bar.render())) <= bar.content_size.width
        await pilot.press("ctrl+l")
        await pilot.pause(0.05)
        assert sidebar.display
        await pilot.press("ctrl+l")
        await pilot.pause(0.05)
        assert not sidebar.display
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.1)
        assert sidebar.display and "thinking budget: 256 tokens" in str(bar.render())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_chat_settings_at(snap_compare, tmp_path, size):
    app = app_with(ScriptedEngine(ANSWER), tmp_path)

    async def run_before(pilot):
        await settle(pilot, lambda: app.session is not None)
        await pilot.press("f4")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_help_at_60x20(snap_compare, tmp_path):
    app = app_with(ScriptedEngine(ANSWER), tmp_path)

    async def run_before(pilot):
        await settle(pilot, lambda: app.session is not None)
        await pilot.press("f1")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(60, 20), run_before=run_before)
