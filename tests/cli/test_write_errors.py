"""Outputs are written whole or not at all; a failed write is one line, never a traceback."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from tests.run_cli import can_mount_tmpfs, localthink, on_small_disk

TASKS = ("distill", "tasks", "--generator", "arithmetic", "--seed", "1")


def test_a_write_that_fails_midway_keeps_the_old_file(tmp_path):
    out = tmp_path / "tasks.jsonl"
    assert localthink(*TASKS, "--n", "5", "-o", str(out)).returncode == 0
    before = out.read_bytes()
    # 2000 tasks are ~150 KB: the cap makes the write fail partway, like a full disk
    r = localthink(*TASKS, "--n", "2000", "-o", str(out), "--force", max_file_bytes=20_000)
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


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs unshare and tmpfs mounts")
def test_ask_answers_on_a_full_disk_and_says_it_was_not_saved(tmp_path, smollm2_path):
    home = tmp_path / "home"
    home.mkdir()
    ask = f"{sys.executable} -m localthink ask --json --max-tokens 8 --seed 1 -m {smollm2_path}"
    script = f"""
        set -e
        mount -t tmpfs -o size=4m tmpfs {home}
        {ask} 'Hi' > /dev/null 2>&1    # the chat store is made while there is room
        dd if=/dev/zero of={home}/fill bs=4k 2>/dev/null || true   # now the disk is full
        {ask} 'Name a colour.'
    """
    r = on_small_disk(script, env={**os.environ, "LOCALTHINK_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stats"]["answer_tokens"] > 0  # answered all the same
    [warning] = [line for line in r.stderr.splitlines() if "warning" in line]
    assert warning.startswith("localthink: warning: replies are not being saved: ")
    assert "Traceback" not in r.stderr
