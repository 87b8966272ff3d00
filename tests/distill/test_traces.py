"""Traces from OpenAI-compatible teachers: a real llama.cpp server, and a stand-in for faults."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from localthink.distill.tasks import Task, generate_tasks, write_tasks
from localthink.distill.teachers import OpenAITeacher, TeacherUnavailable
from localthink.distill.traces import run_traces
from localthink.engine.protocol import SamplingParams
from tests.openai_standin import StandInTeacher
from tests.run_cli import localthink

PARAMS = SamplingParams(max_tokens=32, temperature=0.6)


@pytest.fixture
def standin():
    s = StandInTeacher()
    s.url = s.start()
    yield s
    s.stop()


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def tasks(n=3):
    return [Task(f"t{i}", f"What is {i}+0?", str(i)) for i in range(1, n + 1)]


def test_retries_429_and_500_then_succeeds(standin, tmp_path):
    standin.script = ["429", "500", "drop", "ok"]
    teacher = OpenAITeacher(standin.url, "m", backoff=0.01)
    out = tmp_path / "tr.jsonl"
    written, skipped = run_traces(tasks(1), teacher, out, 1, PARAMS)
    assert (written, skipped, standin.requests) == (1, 0, 4)
    [rec] = records(out)
    assert rec["thinking"] == "Let me think about 1." and rec["answer"] == "\\boxed{1}"
    assert rec["correct"] is True and rec["completion_tokens"] == 20


def test_reasoning_content_is_read_as_thinking(standin, tmp_path):
    standin.default = "reasoning"
    out = tmp_path / "tr.jsonl"
    run_traces(tasks(1), OpenAITeacher(standin.url, "m"), out, 2, PARAMS)
    assert [r["thinking"] for r in records(out)] == ["Reasoning about 1."] * 2


def test_teacher_that_keeps_failing_stops_the_run_keeping_samples(standin, tmp_path):
    standin.script = ["ok", "ok"]
    standin.default = "500"
    out = tmp_path / "tr.jsonl"
    with pytest.raises(TeacherUnavailable, match="2 samples kept"):
        run_traces(
            tasks(3),
            OpenAITeacher(standin.url, "m", retries=2, backoff=0.01),
            out,
            1,
            PARAMS,
            concurrency=1,
        )
    assert len(records(out)) == 2
    standin.default = "ok"
    written, skipped = run_traces(tasks(3), OpenAITeacher(standin.url, "m"), out, 1, PARAMS)
    assert (written, skipped) == (1, 2) and len(records(out)) == 3


def test_dead_teacher_is_one_line_exit_2(tmp_path, isolated_home):
    path = tmp_path / "tasks.jsonl"
    write_tasks(generate_tasks("arithmetic", 2, 1), path)
    r = localthink(
        *("distill", "traces", str(path), "-o", str(tmp_path / "tr.jsonl"), "--split", "all"),
        *("--teacher", "openai:http://127.0.0.1:9/v1", "--model", "m", "--retries", "1"),
        home=isolated_home,
        timeout=120,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("localthink: error: openai:")


def test_a_full_disk_stops_the_run_in_one_line_and_resume_completes(standin, tmp_path):
    path = tmp_path / "tasks.jsonl"
    write_tasks([Task(f"t{i}", f"What is {i}+0?", str(i)) for i in range(12)], path)
    out = tmp_path / "tr.jsonl"
    args = ("distill", "traces", str(path), "-o", str(out), "--split", "all")
    args += ("--teacher", f"openai:{standin.url}", "--model", "m", "--samples", "2")
    r = localthink(*args, max_file_bytes=4000)  # room for a few records, as on a full disk
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith(f"localthink: error: {out}: cannot write (File too large); ")
    kept = int(line.split("; ")[1].split()[0])
    assert 0 < kept < 24 and line.endswith("samples kept, run again to resume")
    r = localthink(*args)
    assert r.returncode == 0, r.stderr
    rows = records(out)
    assert sorted((row["task_id"], row["sample"]) for row in rows) == sorted(
        (f"t{i}", k) for i in range(12) for k in range(2)
    )


def test_sigkill_mid_run_then_resume_has_no_loss_and_no_duplicates(standin, tmp_path):
    path = tmp_path / "tasks.jsonl"
    write_tasks([Task(f"t{i}", f"What is {i}+0?", str(i)) for i in range(10)], path)
    out = tmp_path / "tr.jsonl"
    standin.delay = 0.2
    cmd = [
        sys.executable,
        "-m",
        "localthink",
        "distill",
        "traces",
        str(path),
        "-o",
        str(out),
        "--teacher",
        f"openai:{standin.url}",
        "--model",
        "m",
        "--samples",
        "2",
        "--concurrency",
        "2",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 5):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(records(out))
    assert 5 <= before < 20
    with out.open("a") as f:
        f.write('{"task_id": "t9", "sample": 1, "thin')  # a line cut off by the kill
    standin.delay = 0.0
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = records(out)
    keys = [(x["task_id"], x["sample"]) for x in rows]
    assert len(keys) == len(set(keys)) == 20
    assert f"{20 - before} new samples, {before} already done" in r.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(smollm2_path):
    """llama-cpp-python's own OpenAI-compatible server, serving the real SmolLM2 GGUF."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2_path),
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--verbose",
            "False",
            # by default it cuts a running stream short when the next request arrives
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_real_llama_cpp_server_as_teacher_with_concurrency(llama_server, tmp_path):
    out = tmp_path / "tr.jsonl"
    teacher = OpenAITeacher(llama_server, "smollm2")
    written, _ = run_traces(tasks(3), teacher, out, 2, SamplingParams(max_tokens=24), concurrency=2)
    rows = records(out)
    assert written == 6 and len({(r["task_id"], r["sample"]) for r in rows}) == 6
    assert all(
        r["answer"] and r["completion_tokens"] > 0 and r["teacher"].startswith("openai:")
        for r in rows
    )
    assert {r["params"]["seed"] for r in rows} == {0, 1}


def test_countdown_tasks_that_cannot_be_checked_are_skipped_and_said_so(standin, tmp_path, capsys):
    countdown = [
        Task("whole", "Using the numbers [7, 2], make 7.", "7.0", "countdown"),
        Task("words", "Using the numbers [7, 2], make 7.", "seven", "countdown"),
        Task("plain1", "Make 7 from 7 and 2.", "7", "countdown"),
        Task("plain2", "Make 7 from 2 and 7.", "7", "countdown"),
    ]
    out = tmp_path / "tr.jsonl"
    written, skipped = run_traces(countdown, OpenAITeacher(standin.url, "m"), out, 2, PARAMS)
    assert (written, skipped) == (2, 0)
    assert {(r["task_id"], r["correct"]) for r in records(out)} == {("whole", True)}
    assert capsys.readouterr().err.splitlines() == [
        "localthink: task words: skipped (countdown target 'seven' is not a whole number)",
        "localthink: warning: 2 countdown tasks skipped: their questions do not list the "
        "numbers as [a, b, c] (first: plain1)",
    ]
