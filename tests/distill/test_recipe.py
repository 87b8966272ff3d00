"""examples/tiny-thinker.toml end to end, on a reduced size: tasks → … → registered student."""

import json
import os
from pathlib import Path

import pytest

from localthink.engine.protocol import Message
from localthink.engine.template import template_for
from localthink.models.gguf_file import read_gguf_info
from tests.run_cli import localthink

pytest.importorskip("torch")
pytest.importorskip("transformers")

RECIPE = Path(__file__).parents[2] / "examples" / "tiny-thinker.toml"


def test_tiny_thinker_recipe_runs_resumes_and_the_student_thinks(tmp_path, isolated_home):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(
        RECIPE.read_text().replace("n = 40", "n = 10").replace("limit = 4", "limit = 2")
    )
    env = {**os.environ, "LOCALTHINK_HOME": str(isolated_home)}

    def lt(*args):
        r = localthink(*args, env=env, timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stdout

    first = lt("distill", "run", str(recipe))
    for stage in ("[tasks]", "[traces]", "[verify]", "[train]", "[export]", "[register]", "[eval]"):
        assert stage in first
    work = tmp_path / "tiny-thinker-work"
    assert (work / "tiny-thinker-Q8_0.gguf").exists()
    assert {r["model"] for r in json.loads((work / "eval.json").read_text())} == {
        "tiny-thinker",
        "smollm2-135m",
    }
    # the chat-ready student's prompt opens its thinking once (train and convert both
    # know the convention; neither may add a second tag)
    info = read_gguf_info(work / "tiny-thinker-Q8_0.gguf")
    prompt = template_for(info.chat_template, "", "").render([Message("user", "What is 2+2?")])
    assert prompt.count("<think>") == 1 and prompt.rstrip().endswith("<think>")
    again = lt("distill", "run", str(recipe))  # everything complete: nothing redone
    assert "[traces] 0 new" in again and "[train] done already" in again
    assert "[eval] done already" in again
    reply = json.loads(
        lt("ask", "--json", "-m", "tiny-thinker", "--max-tokens", "32", "What is 2+2?")
    )
    assert reply["thinking"].strip() and reply["stats"]["thinking_tokens"] > 0
    stats = lt("stats", "--json", str(tmp_path / "s.json"))
    assert stats == "" or "rows" in stats
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert any(r["source"] == "eval" for r in rows)


def test_a_recipe_with_an_unknown_train_key_fails_before_any_stage(tmp_path, isolated_home):
    recipe = tmp_path / "typo.toml"
    recipe.write_text(RECIPE.read_text().replace("[train]", "[train]\nepoch = 2"))
    r = localthink("distill", "run", str(recipe))
    assert r.returncode == 2
    assert "[train] has no epoch (known:" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "tiny-thinker-work").exists()  # no stage started


def test_lora_gets_its_own_defaults_in_a_recipe_as_on_the_command_line(tmp_path):
    from localthink.distill.recipe import _train_config

    cfg = _train_config({"lora": True, "lora_rank": 8}, tmp_path / "r.toml")
    assert cfg.lr == 2e-4 and cfg.lora_alpha == 16  # before: full fine-tuning's 1e-5 and 32
    assert _train_config({"lora": True, "lr": 1e-3}, tmp_path / "r.toml").lr == 1e-3
    assert _train_config({}, tmp_path / "r.toml").lr == 1e-5
