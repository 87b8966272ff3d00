"""`distill run` checks the whole recipe before any stage: one line naming file, table and key.

The teacher is a dead address, so a check that were missed could not start anything slow.
"""

import json
from dataclasses import fields

import pytest

from localthink.distill.tasks import generate_tasks
from tests.run_cli import localthink

GOOD = """\
name = "checked"

[tasks]
generator = "arithmetic"
n = 4

[teacher]
spec = "openai:http://127.0.0.1:9/v1"
model = "dead"
samples = 1
max_tokens = 16

[student]
spec = "smollm2-135m"
"""


def _recipe(tmp_path, text: str):
    path = tmp_path / "checked.toml"
    path.write_text(text)
    return path


def _fails_before_any_stage(tmp_path, text: str) -> str:
    r = localthink("distill", "run", str(_recipe(tmp_path, text)))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("localthink: error: "), r.stderr
    assert str(tmp_path / "checked.toml") in lines[0]
    assert not (tmp_path / "checked-work").exists()  # no stage started: no tasks, no traces
    assert r.stdout == ""
    return lines[0]


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("n = 4", "n = -5", "[tasks] n must be a whole number of at least 1, not -5"),
        ("n = 4", 'n = "ten"', "[tasks] n must be a whole number of at least 1, not 'ten'"),
        ("n = 4", "n = 4\ndifficulty = 9", "[tasks] difficulty must be a whole number from 0"),
        ('"arithmetic"', '"linear"\ndifficulty = 0', "[tasks] difficulty 0 is for arithmetic"),
        ('"arithmetic"', '"algebra"', "[tasks] generator must be one of arithmetic, linear"),
        ('"smollm2-135m"', '"nope-model"', "[student] spec: unknown model 'nope-model'"),
        ('"smollm2-135m"', '"no/such/folder"', "[student] spec: no/such/folder: no such file"),
        ("[student]", "[train]\nepochs = 'two'\n[student]", "[train] epochs must be a number"),
        ("[student]", "[train]\nlr = nan\n[student]", "[train] lr must be a number above 0"),
        ("[student]", "[train]\nepoch = 2\n[student]", "[train] has no epoch (known: epochs,"),
        ("[student]", "[export]\nquants = ['Q9']\n[student]", "[export] quants must be a list"),
        ("[student]", "[export]\noutttype = 'f16'\n[student]", "[export] has no outttype"),
        ("[student]", "[export]\nouttype = 'f8'\n[student]", "[export] outtype must be one of"),
        ("[student]", "[export]\npre = 3\n[student]", "[export] pre must be text"),
        ("[student]", "[eval]\nagainst = ['nope']\n[student]", "[eval] against: unknown model"),
        ("[student]", "[eval]\nagainst = 'x'\n[student]", "[eval] against must be a list of"),
        ("[student]", "[bogus]\nx = 1\n[student]", "a recipe has no [bogus] (known: name,"),
        ('name = "checked"', 'name = "checked"\nnaem = 1', "a recipe has no naem"),
        ('name = "checked"', 'name = "checked"\ntrain = 3', "[train] must be a table, not 3"),
        ('name = "checked"', 'name = "smollm2-135m"', "smollm2-135m is a curated model"),
        ('name = "checked"', 'name = "a b"', "name: 'a b' cannot be a model name"),
        ("samples = 1", "samples = 0", "[teacher] samples must be a whole number of at least 1"),
        ("samples = 1", "temperature = -1", "[teacher] temperature must be a number of at least"),
        ("samples = 1", "top_p = 5", "[teacher] top_p must be a number above 0 and at most 1"),
        ("max_tokens = 16", "max_tokens = 0", "[teacher] max_tokens must be a whole number"),
        ("samples = 1", "think_template = true", "think_template needs a gguf: teacher"),
        ('model = "dead"', "", "[teacher] spec openai:http://127.0.0.1:9/v1: an openai: model"),
        ('"openai:http://127.0.0.1:9/v1"', '"gguf:nope"', "[teacher] spec: unknown model 'nope'"),
        ('"openai:http://127.0.0.1:9/v1"', '"nope"', "[teacher] spec must be openai:URL or"),
        ("[student]", "[verify]\nmax_foreign_share = 2\n[student]", "[verify] max_foreign_share"),
    ],
)
def test_a_bad_recipe_fails_in_one_line_before_any_stage(tmp_path, old, new, said):
    assert old in GOOD
    assert said in _fails_before_any_stage(tmp_path, GOOD.replace(old, new, 1))


def test_a_missing_table_or_spec_is_named(tmp_path):
    assert "needs a [student] table" in _fails_before_any_stage(
        tmp_path, GOOD.split("[student]")[0]
    )
    said = _fails_before_any_stage(tmp_path, GOOD.replace('spec = "smollm2-135m"', "x = 1"))
    assert "[student] has no x" in said


def test_a_good_recipe_passes_the_checks(tmp_path):
    from localthink.distill.recipe import load_recipe

    extra = """
[verify]
check_answers = false
max_foreign_share = 0.1

[train]
epochs = 1
lr = 1e-4
max_steps = 6
lora = true

[export]
outtype = "bf16"
quants = ["Q8_0", "q4_k_m"]
pre = "qwen2"

[eval]
samples = 1
limit = 2
against = ["smollm2-135m", "gguf:smollm2-135m", "openai:http://127.0.0.1:9/v1"]
"""
    recipe = load_recipe(_recipe(tmp_path, GOOD + extra))
    assert recipe["export"]["quants"] == ["Q8_0", "q4_k_m"] and recipe["export"]["pre"] == "qwen2"


def test_every_train_setting_has_a_check():
    from localthink.distill.recipe_checks import TABLES
    from localthink.distill.train import TrainConfig

    assert set(TABLES["train"]) == {f.name for f in fields(TrainConfig)}


def _test_only_seed() -> int:
    """A seed whose single arithmetic task is in the test split: no teacher is asked."""
    return next(s for s in range(1000) if generate_tasks("arithmetic", 1, s)[0].split == "test")


def test_an_empty_tasks_file_is_not_a_finished_stage(tmp_path):
    seed = _test_only_seed()
    work = tmp_path / "checked-work"
    work.mkdir()
    (work / "tasks.jsonl").write_text("")  # what `n = -5` left behind before the checks
    recipe = _recipe(tmp_path, GOOD.replace("n = 4", f"n = 1\nseed = {seed}"))
    r = localthink("distill", "run", str(recipe))
    assert f"[tasks] 1 tasks in {work / 'tasks.jsonl'}" in r.stdout, r.stdout + r.stderr
    assert "no valid tasks" not in r.stderr
    (task,) = [json.loads(line) for line in (work / "tasks.jsonl").read_text().splitlines()]
    assert task["split"] == "test"


def test_a_written_tasks_file_is_kept(tmp_path):
    work = tmp_path / "checked-work"
    work.mkdir()
    mine = '{"id": "mine", "question": "What is 2+2?", "answer": "4", "split": "test"}\n'
    (work / "tasks.jsonl").write_text(mine)
    localthink("distill", "run", str(_recipe(tmp_path, GOOD)))
    assert (work / "tasks.jsonl").read_text() == mine
