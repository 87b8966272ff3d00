"""examples/tiny-thinker.toml end to end, on a reduced size: tasks → … → registered student."""

import json
import os
from pathlib import Path

import pytest

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
    again = lt("distill", "run", str(recipe))  # everything complete: nothing redone
    assert "[traces] 0 new" in again and "[train] done already" in again
    reply = json.loads(
        lt("ask", "--json", "-m", "tiny-thinker", "--max-tokens", "32", "What is 2+2?")
    )
    assert reply["thinking"].strip() and reply["stats"]["thinking_tokens"] > 0
    stats = lt("stats", "--json", str(tmp_path / "s.json"))
    assert stats == "" or "rows" in stats
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert any(r["source"] == "eval" for r in rows)
