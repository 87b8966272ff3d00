"""`localthink distill` given bad input, as a user gives it: one line and a non-zero exit,
no traceback, and nothing already written (tasks, paid teacher traces, a checkpoint) lost."""

from __future__ import annotations

import json
import sys

import pytest

from tests.distill.test_train import sft_lines
from tests.run_cli import can_mount_tmpfs, localthink, on_small_disk

DEAD = ("--teacher", "openai:http://127.0.0.1:9/v1", "--model", "m")


def one_line_error(r, text: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert text in r.stderr.strip().splitlines()[-1], r.stderr


def _jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _trace(i: int, **over) -> dict:
    return {
        "task_id": f"t{i}",
        "question": f"Compute {i} + 1.",
        "reference": str(i + 1),
        "kind": "math",
        "thinking": f"{i} plus 1 is {i + 1}.",
        "answer": f"The answer is \\boxed{{{i + 1}}}.",
        "thinking_closed": True,
        "finish_reason": "stop",
        **over,
    }


def test_tasks_will_not_replace_a_file_without_force(tmp_path):
    keep = tmp_path / "traces.jsonl"
    keep.write_text("precious\n")
    r = localthink("distill", "tasks", "--n", "3", "-o", str(keep))
    one_line_error(r, f"{keep} exists (use --force to replace it)")
    assert keep.read_text() == "precious\n"
    assert localthink("distill", "tasks", "--n", "3", "-o", str(keep), "--force").returncode == 0
    assert len(keep.read_text().splitlines()) == 3
    one_line_error(localthink("distill", "tasks", "-o", ""), "an output path cannot be empty")


def test_verify_never_empties_its_output_nor_writes_over_its_input(tmp_path):
    sft = tmp_path / "sft.jsonl"
    sft.write_text("kept from the last run\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    r = localthink("distill", "verify", str(empty), "-o", str(sft))
    one_line_error(r, f"{empty}: no trace records (nothing written to {sft})")
    assert sft.read_text() == "kept from the last run\n"  # it was emptied
    traces = _jsonl(tmp_path / "traces.jsonl", [_trace(1)])
    one_line_error(
        localthink("distill", "verify", traces, "-o", traces), "is the traces file itself"
    )
    assert json.loads((tmp_path / "traces.jsonl").read_text())["task_id"] == "t1"


def test_verify_names_malformed_records_by_line_and_goes_on(tmp_path):
    rows = [
        _trace(1),
        _trace(2, answer=123),  # a TypeError traceback before
        _trace(3, thinking=["a"]),
        _trace(4, kind=None),  # sorted with the others: a traceback after the write
        _trace(5, question=["x"]),  # was written as "['x']"
        [1, 2],
    ]
    traces = _jsonl(tmp_path / "traces.jsonl", rows)
    r = localthink("distill", "verify", traces, "-o", str(tmp_path / "sft.jsonl"))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert f'{traces}:2: skipped ("answer" must be text)' in r.stderr
    assert f'{traces}:3: skipped ("thinking" must be text)' in r.stderr
    assert f'{traces}:5: skipped ("question" must be text)' in r.stderr
    assert f"{traces}:6: skipped (not a JSON object)" in r.stderr
    kept = [json.loads(line)["task_id"] for line in (tmp_path / "sft.jsonl").open()]
    assert kept == ["t1", "t4"]  # kind null is read as math


@pytest.mark.parametrize(
    "flags",
    [
        ("verify", "x.jsonl", "-o", "y.jsonl", "--max-foreign-share", "nan"),
        ("verify", "x.jsonl", "-o", "y.jsonl", "--max-thinking-chars", "-5"),
        ("traces", "x.jsonl", "-o", "y.jsonl", *DEAD, "--split", "bogus"),
        ("traces", "x.jsonl", "-o", "y.jsonl", *DEAD, "--temperature", "-1"),
        ("traces", "x.jsonl", "-o", "y.jsonl", *DEAD, "--top-p", "2"),
        ("train", "x.jsonl", "--student", "s", "-o", "o", "--lr", "nan"),
        ("train", "x.jsonl", "--student", "s", "-o", "o", "--epochs", "0"),
        ("grpo", "--student", "s", "--tasks", "t", "-o", "o", "--temperature", "0"),
        ("grpo", "--student", "s", "--tasks", "t", "-o", "o", "--beta", "-1"),
        ("grpo", "--student", "s", "--tasks", "t", "-o", "o", "--clip", "-0.5"),
    ],
)
def test_flags_out_of_range_are_usage_errors(tmp_path, flags):
    r = localthink("distill", *flags)
    one_line_error(r, f"localthink distill {flags[0]}: error: argument {flags[-2]}")


def test_traces_says_when_the_split_has_no_tasks(tmp_path):
    tasks = _jsonl(
        tmp_path / "tasks.jsonl",
        [{"id": 1, "question": "Compute 1 + 1.", "answer": "2"}, [1, 2], {"id": 2, "split": "x"}],
    )
    r = localthink(
        "distill", "traces", tasks, "-o", str(tmp_path / "t.jsonl"), *DEAD, "--split", "test"
    )
    one_line_error(r, f"{tasks}: no test-split tasks (--split all?)")
    assert f"{tasks}:2: skipped (not a JSON object)" in r.stderr  # not 'list' has no 'get'
    assert not (tmp_path / "t.jsonl").exists()


def test_train_keeps_a_run_already_saved_and_reads_its_data_before_the_student(
    tmp_path, smollm2_path
):
    out = tmp_path / "student"
    (out / "checkpoint").mkdir(parents=True)
    (out / "checkpoint" / "state.json").write_text('{"step": 500, "config": {}}')
    sft = tmp_path / "sft.jsonl"
    sft.write_text(sft_lines(2))
    train = ("distill", "train", str(sft), "--student", str(smollm2_path))
    r = localthink(*train, "-o", str(out), "--max-steps", "1")
    one_line_error(r, f"{out} already holds a trained student or checkpoint: --resume continues it")
    assert json.loads((out / "checkpoint" / "state.json").read_text())["step"] == 500
    one_line_error(localthink(*train, "-o", str(sft)), f"{sft} is a file; -o names a folder")

    bad = tmp_path / "bad.jsonl"
    for line, said in [
        ('{"messages": "hello"}', 'not an SFT record ({"messages": [...]})'),
        ('{"messages": []}', 'not an SFT record ({"messages": [...]})'),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "the last message must be"),
        ('{"messages": [{"content": "hi"}, {"role": "assistant", "content": "x"}]}', "a role"),
        ('{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "x"}]}',
         "content as text"),
    ]:  # fmt: skip
        bad.write_text(sft_lines(1) + line + "\n")
        r = localthink(
            "distill", "train", str(bad), "--student", str(smollm2_path), "-o", str(tmp_path / "n")
        )
        one_line_error(r, f"{bad}:2: ")
        assert said in r.stderr
    bad.write_bytes(b"\xff\xfe\x00binary")
    r = localthink(
        "distill", "train", str(bad), "--student", str(smollm2_path), "-o", str(tmp_path / "n")
    )
    one_line_error(r, f"{bad}: cannot read")


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs unshare and tmpfs mounts")
def test_train_into_a_read_only_folder_is_refused_before_any_step(tmp_path, smollm2_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    sft = tmp_path / "sft.jsonl"
    sft.write_text(sft_lines(2))
    script = f"""
        mount -t tmpfs -o ro,size=1m tmpfs {ro}
        {sys.executable} -m localthink distill train {sft} --student {smollm2_path} \
            -o {ro}/st --max-steps 1
    """
    r = on_small_disk(script)
    one_line_error(r, f"{ro}/st: cannot write there (Read-only file system)")
    assert "trained" not in r.stdout


def test_eval_keeps_the_students_scores_when_a_teacher_is_dead(tmp_path, think_gguf):
    student = tmp_path / "student.gguf"
    student.symlink_to(think_gguf)
    tasks = _jsonl(
        tmp_path / "tasks.jsonl",
        [{"id": "a", "question": "Compute 3 + 5.", "answer": "8", "split": "test"}],
    )
    r = localthink(
        *("distill", "eval", str(student), "--tasks", tasks, "--samples", "1"),
        *(
            "--max-tokens",
            "16",
            "--against",
            "openai:http://127.0.0.1:9/v1",
            "--teacher-model",
            "m",
        ),
        timeout=300,
    )
    one_line_error(r, f"the scores so far are in {tmp_path / 'student.eval.json'}")
    [saved] = json.loads((tmp_path / "student.eval.json").read_text())
    assert saved["model"] == "student" and saved["tasks"] == 1
