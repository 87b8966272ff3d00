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
    r = launch(script, str(smollm2_path), str(out), "2", prefix, "resume")
    assert "rank 0 steps 2 processes 2" in r.stdout
    one, two = torch.load(prefix + "0.pt"), torch.load(prefix + "1.pt")
    assert all(torch.equal(one[k], two[k]) for k in one)
    saved = json.loads((out / "checkpoint" / "state.json").read_text())
    assert saved["step"] == 2
    assert [json.loads(x)["step"] for x in (out / "grpo_log.jsonl").read_text().splitlines()] == [
        1,
        2,
    ]
