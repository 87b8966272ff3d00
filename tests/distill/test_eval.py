"""`localthink distill eval` as a user runs it: real SmolLM2 GGUFs, a real HTTP teacher."""

from __future__ import annotations

import json
import os

import pytest

from tests.openai_standin import StandInTeacher
from tests.run_cli import as_from_a_terminal, localthink

# The stand-in answers the first number in the question: right for the first task only.
TASKS = [
    {"id": "a", "question": "Compute 7 × 1.", "answer": "7", "kind": "math", "split": "test"},
    {"id": "b", "question": "Compute 2 + 3.", "answer": "5", "kind": "math", "split": "test"},
    {"id": "c", "question": "Compute 4 + 4.", "answer": "8", "kind": "math", "split": "train"},
]


@pytest.fixture
def standin():
    s = StandInTeacher()
    s.url = s.start()
    yield s
    s.stop()


def write_tasks(path, tasks) -> str:
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return str(path)


def test_student_base_and_openai_teacher_are_scored_side_by_side(
    tmp_path, think_gguf, smollm2_path, standin
):
    student = tmp_path / "student.gguf"  # its JSON lands beside it, not beside the fixture
    student.symlink_to(think_gguf)
    tasks = write_tasks(tmp_path / "tasks.jsonl", TASKS)
    teacher = f"openai:{standin.url}"
    r = localthink(
        *("distill", "eval", str(student), "--tasks", tasks, "--samples", "1"),
        *("--max-tokens", "24", "--against", f"{smollm2_path},{teacher}"),
        *("--teacher-model", "m"),
        env={**os.environ, "COLUMNS": "200"},  # one line a model; read now, for isolated_home
    )
    assert r.returncode == 0, r.stderr
    assert "2 held-out tasks × 1 samples" in r.stdout  # the train task is left out
    assert "warning" not in r.stderr
    names = ["student", smollm2_path.stem, f"m ({teacher})"]
    for name in names:
        assert name in r.stdout
    assert standin.requests == 2

    results = json.loads((tmp_path / "student.eval.json").read_text())
    assert [x["model"] for x in results] == names
    for x in results:
        assert (x["tasks"], x["samples"]) == (2, 1)
        assert 0.0 <= x["pass_at_1"] <= 1.0
        assert x["mean_thinking_tokens"] >= 0 and x["mean_answer_tokens"] >= 0
    assert results[0]["mean_thinking_tokens"] > 0  # the template opens <think>
    by_teacher = results[2]
    assert by_teacher["pass_at_1"] == 0.5  # \boxed{7} right, \boxed{2} wrong
    # the stand-in reports 20 completion tokens, shared between thinking and answer
    assert by_teacher["mean_thinking_tokens"] + by_teacher["mean_answer_tokens"] == 20
    assert by_teacher["mean_thinking_tokens"] > by_teacher["mean_answer_tokens"] > 0

    stats = localthink("stats", "--json", str(tmp_path / "stats.json"))
    assert stats.returncode == 0, stats.stderr
    rows = json.loads((tmp_path / "stats.json").read_text())["rows"]
    evals = [row for row in rows if row["source"] == "eval"]
    assert sorted({row["model"] for row in evals}) == sorted(names)
    assert len(evals) == 6
    teacher_rows = [row for row in evals if row["model"] == names[2]]
    assert sorted(row["correct"] for row in teacher_rows) == [False, True]
    assert all(row["thinking_tokens"] > 0 for row in teacher_rows)


def test_tasks_without_a_test_split_are_evaluated_with_a_warning(tmp_path, smollm2_path):
    tasks = tmp_path / "tasks.jsonl"
    made = localthink(
        *("distill", "tasks", "--generator", "arithmetic", "--n", "2", "--difficulty", "0"),
        *("-o", str(tasks)),
    )
    assert made.returncode == 0, made.stderr
    assert all(json.loads(line)["split"] == "train" for line in tasks.read_text().splitlines())
    student = tmp_path / "student.gguf"
    student.symlink_to(smollm2_path)
    r = localthink(
        *("distill", "eval", str(student), "--tasks", str(tasks), "--samples", "1"),
        *("--max-tokens", "8", "--limit", "1"),
    )
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "no test-split tasks" in warnings[0] and "not held out" in warnings[0]
    assert "1 training (not held-out) tasks" in r.stdout
    assert (tmp_path / "student.eval.json").exists()


@pytest.mark.parametrize(
    ("model", "extra", "says"),
    [
        ("no-such-model", (), "no-such-model"),
        ("STUDENT", ("--against", "gguf:no-such-base"), "no-such-base"),
        ("STUDENT", ("--against", "openai:http://127.0.0.1:9/v1"), "--teacher-model"),
    ],
)
def test_a_model_that_cannot_be_used_is_one_line_before_any_run(
    tmp_path, smollm2_path, model, extra, says
):
    student = tmp_path / "student.gguf"
    student.symlink_to(smollm2_path)
    model = str(student) if model == "STUDENT" else model
    tasks = write_tasks(tmp_path / "tasks.jsonl", TASKS)
    r = localthink("distill", "eval", model, "--tasks", tasks, *extra)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr
    assert "Traceback" not in r.stderr
    assert not list(tmp_path.glob("*.eval.json"))


def test_progress_is_printed_when_stderr_is_not_a_terminal(tmp_path, smollm2_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", TASKS)
    r = localthink(
        *("distill", "eval", str(smollm2_path), "--tasks", tasks, "--samples", "2"),
        *("--max-tokens", "8"),
    )
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.startswith(f"eval {smollm2_path}")]
    assert lines[0].startswith(f"eval {smollm2_path}: 1/4 samples")  # under way at once
    assert lines[-1].startswith(f"eval {smollm2_path}: 4/4 samples")
    assert "correct so far" in lines[-1] and "samples/s" in lines[-1] and "ETA" in lines[-1]


def test_ctrl_c_keeps_and_shows_what_was_scored(tmp_path, think_gguf):
    import signal
    import subprocess
    import sys
    import time

    many = [
        {"id": f"t{i}", "question": f"Compute {i} + 1.", "answer": str(i + 1), "kind": "math",
         "split": "test"}
        for i in range(40)
    ]  # fmt: skip
    tasks = write_tasks(tmp_path / "tasks.jsonl", many)
    student = tmp_path / "student.gguf"
    student.symlink_to(think_gguf)
    proc = subprocess.Popen(
        [sys.executable, "-m", "localthink", "distill", "eval", str(student), "--tasks", tasks,
         "--samples", "1", "--max-tokens", "40"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=as_from_a_terminal,  # a suite started in the background ignores SIGINT
    )  # fmt: skip
    deadline = time.monotonic() + 240
    line = ""
    while time.monotonic() < deadline and "1/40 samples" not in line:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
    assert "1/40 samples" in line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err
    assert "interrupted" in out
    results = json.loads((tmp_path / "student.eval.json").read_text())
    assert len(results) == 1 and results[0]["complete"] is False
    assert 1 <= results[0]["scored"] < 40 and results[0]["tasks"] == results[0]["scored"]
