"""`distill grpo` in two CPU processes (gloo): what `accelerate launch` runs on several GPUs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

from localthink.distill.train import load_student  # noqa: E402

LAUNCH = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
ENV = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}


def launch(*args, check=True):
    r = subprocess.run([*LAUNCH, *args], env=ENV, capture_output=True, text=True, timeout=600)
    if check:
        # the processes' own tracebacks, not torchrun's summary after them
        ranks = [line for line in r.stderr.splitlines() if line.startswith("[rank")]
        assert r.returncode == 0, "\n".join(ranks[-30:]) or r.stderr[-3000:]
    return r


def test_two_processes_step_alike_log_once_and_resume(smollm2_path, tmp_path):
    out, prefix = tmp_path / "rl", str(tmp_path / "weights")
    script = "tests/distill/grpo_processes.py"
    r = launch(script, str(smollm2_path), str(out), "1", prefix)
    assert sorted(r.stdout.split("\n")[:-1]) == [
        "rank 0 steps 1 processes 2",
        "rank 1 steps 1 processes 2",
    ]
    start = load_student(str(smollm2_path))[0].state_dict()
    one, two = torch.load(prefix + "0.pt"), torch.load(prefix + "1.pt")
    # each process sampled its own group, yet both took the one step of the whole batch
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert any(not torch.equal(start[k], one[k]) for k in one)
    [row] = [json.loads(line) for line in (out / "grpo_log.jsonl").read_text().splitlines()]
    assert row["processes"] == 2 and row["zero_std_groups"] < 1
    assert row["completion_tokens"] == row["rollout_tokens"] / 4  # 2 groups of 2, both counted
    # the CLI resumes it in two processes (the same settings as the script's): one of them
    # reports, evaluates and saves
    tasks = tmp_path / "tasks.jsonl"
    rows = [{"id": f"a{i}", "question": f"Compute {i} + {i}.", "answer": str(2 * i)}
            for i in range(2, 8)]  # fmt: skip
    rows += [{"id": "h1", "question": "Compute 3 + 4.", "answer": "7", "split": "test"}]
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = launch("-m", "localthink", "distill", "grpo", "--student", str(smollm2_path),
               "--tasks", str(tasks), "-o", str(out), "--steps", "2", "--group", "2",
               "--prompts-per-step", "2", "--max-new-tokens", "8", "--lr", "1e-4",
               "--save-every", "1", "--reward", "tests.distill.grpo_rewards:length",
               "--reward", "accuracy", "--eval", "1", "--resume")  # fmt: skip
    lines = r.stdout.splitlines()
    assert sum(line.startswith("step    2/2 · reward") for line in lines) == 1
    assert sum(line.startswith("held-out after: accuracy") for line in lines) == 1
    assert lines[-1].startswith(f"2 steps → {out}")
    saved = json.loads((out / "checkpoint" / "state.json").read_text())
    assert saved["step"] == 2
    log = (out / "grpo_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == [1, 2]
