"""`localthink distill traces` with localthink's own server as its openai: teacher."""

from __future__ import annotations

import json

from localthink.distill.tasks import Task, write_tasks
from tests.run_cli import localthink


def test_traces_from_a_localthink_server_keep_thinking_apart(server, tmp_path):
    path = tmp_path / "tasks.jsonl"
    write_tasks([Task(f"t{i}", f"What is {i}+1?", str(i + 1)) for i in range(1, 3)], path)
    out = tmp_path / "traces.jsonl"
    r = localthink(
        "distill", "traces", str(path), "-o", str(out), "--split", "all",
        "--teacher", f"openai:{server.url}/v1", "--model", "smollm2-think",
        "--samples", "1", "--max-tokens", "60", "--temperature", "0",
        timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(row["task_id"] for row in rows) == ["t1", "t2"]
    for row in rows:
        assert row["thinking"] and "</think>" not in row["thinking"]
        assert row["answer"] and "<think>" not in row["answer"]
