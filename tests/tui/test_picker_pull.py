"""The model picker pulls a curated model from a stand-in Hub (real HTTP), then loads it."""

from __future__ import annotations

import pytest

from localthink.config import paths
from localthink.models.hub import hf_cache_dir
from localthink.store.db import Store
from localthink.tui.app import ChatApp
from localthink.tui.screens.model_picker import ModelPicker
from tests.hub_server import HubFile, StandInHub
from tests.scripted_engine import ANSWER, ScriptedEngine, scripted_opener

REPO, FILE = "localthink-test/tiny-GGUF", "tiny-Q4_1.gguf"


@pytest.fixture
def hub(smollm2_path, isolated_home, tmp_path, monkeypatch):
    h = StandInHub({(REPO, FILE): HubFile(smollm2_path.read_bytes())})
    url = h.start()
    cfg = paths().user_registry_path
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        f'["tiny"]\nrepo = "{REPO}"\ndefault_quant = "Q4_1"\nparams = "135M"\n'
        f'["tiny".quants.Q4_1]\nfile = "{FILE}"\nsize_gb = 0.098\n'
    )
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    yield h
    h.stop()


async def wait_for(pilot, condition, rounds=1500):
    for _ in range(rounds):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError("condition never met")


async def start_pull(pilot, app):
    """Open the picker (Ctrl+O), press Enter on the not-downloaded "tiny" row; return the
    picker and its progress bar (held now: a finished pull closes the picker)."""
    await wait_for(pilot, lambda: app.session is not None)
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
    picker = app.screen
    assert "pull:tiny" in picker.pullable
    options = picker.query_one("OptionList")
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index("pull:tiny")
    bar = picker.query_one("#pull-bar")
    await pilot.press("enter")  # asks first, with the size
    status = str(picker.query_one("#pull-status").render())
    assert "Download tiny:Q4_1 (0.10 GB)" in status and not picker.pulling
    await pilot.press("enter")
    return picker, bar


def app_recording_specs(tmp_path, specs: list):
    inner = scripted_opener(ScriptedEngine(ANSWER))

    def opener(spec):
        specs.append(spec)
        return inner(spec)

    return ChatApp(opener=opener, store=Store(tmp_path / "chats.db"))


async def test_picker_pulls_with_progress_then_loads(hub, smollm2_path, tmp_path):
    specs: list = []
    app = app_recording_specs(tmp_path, specs)
    async with app.run_test(size=(110, 34)) as pilot:
        _, bar = await start_pull(pilot, app)
        await wait_for(pilot, lambda: len(specs) == 2)  # the pulled model was handed to load
        assert specs[-1] == "tiny"  # by name, so the status bar names it as the picker does
        [pulled] = hf_cache_dir().rglob(FILE)
        assert pulled.read_bytes() == smollm2_path.read_bytes()
        assert not isinstance(app.screen, ModelPicker)
        # the bar followed the download to the end
        assert bar.total == smollm2_path.stat().st_size and bar.progress == bar.total


async def test_picker_shows_a_failed_pull_and_stays_open(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    specs: list = []
    app = app_recording_specs(tmp_path, specs)
    async with app.run_test(size=(110, 34)) as pilot:
        picker, _ = await start_pull(pilot, app)
        status = picker.query_one("#pull-status")
        await wait_for(pilot, lambda: "cannot reach" in str(status.render()))
        assert isinstance(app.screen, ModelPicker) and not picker.pulling
        assert specs == [None]  # nothing new was loaded
        await pilot.press("escape")
        assert not isinstance(app.screen, ModelPicker)


async def test_the_picker_starts_on_the_model_in_use_and_names_it_after_a_switch(tmp_path):
    from localthink.chat import open_model
    from localthink.tui.widgets.status import StatusBar

    def opener(spec):
        return open_model(spec, subprocess=True)

    app = ChatApp(opener=opener, store=Store(tmp_path / "chats.db"))
    async with app.run_test(size=(110, 34)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)  # the smallest: SmolLM2
        first = app.opened
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        options = app.screen.query_one("OptionList")
        highlighted = options.get_option_at_index(options.highlighted)
        assert highlighted.id == "smollm2-135m"  # it started on the first row, any model
        assert str(highlighted.prompt).startswith("● smollm2-135m")
        await pilot.press("enter")  # load it again, as a switch does
        await wait_for(pilot, lambda: app.session is not None and app.opened is not first)
        assert app.query_one(StatusBar).model == "smollm2-135m"  # it showed the file's name
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        options = app.screen.query_one("OptionList")
        assert str(options.get_option_at_index(options.highlighted).prompt).startswith("● ")
