"""Outputs are written whole or not at all; a failed write is one line, never a traceback."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from tests.run_cli import localthink

TASKS = ("distill", "tasks", "--generator", "arithmetic", "--seed", "1")


def test_a_write_that_fails_midway_keeps_the_old_file(tmp_path):
    out = tmp_path / "tasks.jsonl"
    assert localthink(*TASKS, "--n", "5", "-o", str(out)).returncode == 0
    before = out.read_bytes()
    # 2000 tasks are ~150 KB: the cap makes the write fail partway, like a full disk
    r = localthink(*TASKS, "--n", "2000", "-o", str(out), max_file_bytes=20_000)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"localthink: error: {out}: cannot write (File too large); the old file is kept"
    ]
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.jsonl"]  # no .tmp left
    out.unlink()
    r = localthink(*TASKS, "--n", "2000", "-o", str(out), max_file_bytes=20_000)
    assert "nothing was written" in r.stderr and not out.exists()


def test_output_to_a_pipe_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    r = localthink(*TASKS, "--n", "3", "-o", str(fifo))
    reader.join(timeout=60)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still the pipe, not a file renamed over it
    assert [json.loads(line)["kind"] for line in received[0].splitlines()] == ["math"] * 3


@pytest.mark.skipif(
    not (Path("/dev/full").exists() and stat.S_ISCHR(Path("/dev/full").stat().st_mode)),
    reason="needs /dev/full",
)
def test_a_full_device_is_one_line_and_left_alone():
    r = localthink("stats", "--csv", "/dev/full")
    assert r.returncode == 2
    error = "localthink: error: /dev/full: cannot write (No space left on device)"
    assert r.stderr.strip() == error
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


def test_a_missing_folder_is_named(tmp_path):
    r = localthink("stats", "--json", str(tmp_path / "no" / "such" / "out.json"))
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"localthink: error: {tmp_path}/no/such/out.json: no such directory {tmp_path}/no/such"
    )
