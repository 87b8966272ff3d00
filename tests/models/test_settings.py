"""`localthink set`: the user's settings over a model's registry defaults, in their own file."""

import json

import pytest

from localthink.config import paths
from localthink.errors import LocalthinkError, ModelNotFoundError
from localthink.models.registry import curated_registry_path, load_registry
from localthink.models.user_registry import (
    import_gguf,
    parse_setting,
    reset_settings,
    set_settings,
)
from tests.run_cli import localthink


def _ask(home, *flags):
    r = localthink(
        "ask", "--json", "--model", "smollm2-135m", "--temperature", "0", *flags, "Hi", home=home
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["stats"]


def test_settings_reach_the_model_and_reset_brings_back_the_curated_defaults(isolated_home):
    curated = curated_registry_path().read_bytes()
    # long enough to outweigh the default system prompt SmolLM2's template adds without one
    system = ["--system", "You are a terse assistant. " * 20]
    assert localthink("set", "smollm2-135m", "max_tokens=6", home=isolated_home).returncode == 0
    stats = _ask(isolated_home, *system)
    assert stats["thinking_tokens"] + stats["answer_tokens"] == 6
    assert stats["stop_reason"] == "length"

    r = localthink("set", "smollm2-135m", "system_prompt=false", home=isolated_home)
    assert r.returncode == 0, r.stderr
    assert "system_prompt=False" in r.stdout and "max_tokens=6" in r.stdout
    without = _ask(isolated_home, *system)
    assert without["prompt_tokens"] < stats["prompt_tokens"]  # the system prompt was dropped

    shown = localthink("set", "smollm2-135m", home=isolated_home).stdout
    assert "max_tokens            6  (yours)" in shown and "top_p                 0.9\n" in shown
    listed = localthink("models", home=isolated_home).stdout
    assert "your settings for smollm2-135m: system_prompt=False, max_tokens=6" in listed

    r = localthink("set", "smollm2-135m", "--reset", home=isolated_home)
    assert r.returncode == 0 and "dropped system_prompt, max_tokens" in r.stdout
    entry = load_registry()["smollm2-135m"]
    assert entry.sampling["max_tokens"] == 1024 and entry.system_prompt and not entry.overrides
    assert curated_registry_path().read_bytes() == curated


def test_an_override_keeps_every_curated_key_it_does_not_name(isolated_home):
    before = load_registry()["r1-distill-qwen-7b"]
    set_settings("r1-distill-qwen-7b", {"temperature": 0.5, "default_quant": "Q8_0"})
    after = load_registry()["r1-distill-qwen-7b"]
    assert after.sampling == {**before.sampling, "temperature": 0.5}
    assert after.default_quant == "Q8_0" and after.quants == before.quants
    assert after.repo == before.repo and not after.system_prompt and not after.user
    assert after.overrides == {"default_quant": "Q8_0", "temperature": 0.5}


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        ({"temprature": 0.5}, "unknown key 'temprature'"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"max_tokens": 0}, "max_tokens must be a whole number of at least 1"),
        ({"system_prompt": 1}, "system_prompt must be true or false"),
        ({"default_quant": "Q3"}, "has no Q3 quant"),
    ],
)
def test_a_bad_setting_is_named_and_nothing_is_written(isolated_home, setting, error):
    set_settings("qwen3-4b", {"top_p": 0.8})
    kept = paths().user_registry_path.read_bytes()
    with pytest.raises(LocalthinkError, match=error):
        set_settings("qwen3-4b", setting)
    assert paths().user_registry_path.read_bytes() == kept


def test_a_hand_edited_typo_is_one_line_not_ignored(isolated_home):
    path = paths().user_registry_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('["qwen3-4b".sampling]\ntemperatur = 0.3\n')
    r = localthink("models", home=isolated_home)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"localthink: error: {path}: [qwen3-4b]: unknown sampling key 'temperatur'"
        " (known: temperature, top_p, top_k, min_p, repeat_penalty, max_tokens)"
    )


def test_own_models_take_settings_in_their_row_and_have_nothing_to_reset(isolated_home, think_gguf):
    import_gguf(think_gguf, "mine")
    assert set_settings("mine", {"temperature": 0.3, "think_open": "<reason>"}) == {
        "think_open": "<reason>",
        "temperature": 0.3,
    }
    entry = load_registry()["mine"]
    assert entry.user and entry.quant(None).path == str(think_gguf)  # still the import
    assert entry.tags.open == "<reason>" and entry.sampling["temperature"] == 0.3
    with pytest.raises(LocalthinkError, match="your own model"):
        reset_settings("mine")
    with pytest.raises(ModelNotFoundError, match="unknown model 'nope'"):
        set_settings("nope", {"temperature": 0.3})


def test_values_are_read_as_toml_or_kept_as_bare_strings():
    assert parse_setting("temperature=0.5") == ("temperature", 0.5)
    assert parse_setting("max_tokens = 512") == ("max_tokens", 512)
    assert parse_setting("system_prompt=true") == ("system_prompt", True)
    assert parse_setting("think_open=<reason>") == ("think_open", "<reason>")
    assert parse_setting('default_quant="Q8_0"') == ("default_quant", "Q8_0")
    with pytest.raises(LocalthinkError, match="give KEY=VALUE"):
        parse_setting("temperature")
