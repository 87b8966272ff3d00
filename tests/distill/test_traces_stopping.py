"""How `distill traces` stops: Ctrl-C, a teacher slower than --timeout, counts below 1."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from localthink.distill.tasks import Task, write_tasks
from localthink.distill.teachers import Cancelled, GGUFTeacher, OpenAITeacher
from localthink.engine.protocol import SamplingParams
from tests.openai_standin import StandInTeacher
from tests.run_cli import localthink


class SlowAfter(StandInTeacher):
    """Answers the first `fast` requests at once, then takes `seconds` over each."""

    def __init__(self, fast: int, seconds: float) -> None:
        super().__init__()
        self.fast, self.seconds = fast, seconds

    def reply(self, body: dict, mode: str) -> dict:
        if self.requests > self.fast:
            time.sleep(self.seconds)
        return super().reply(body, mode)

    def start(self) -> str:
        url = super().start()
        # the client gave up on a slow reply: its broken pipe is the point, not news
        self.server.handle_error = lambda request, client_address: None
        return url


@pytest.fixture
def standin():
    s = StandInTeacher()
    s.url = s.start()
    yield s
    s.stop()


def _tasks_file(tmp_path, n):
    path = tmp_path / "tasks.jsonl"
    write_tasks([Task(f"t{i}", f"What is {i}+0?", str(i)) for i in range(n)], path)
    return path


def _keys(path):
    text = path.read_text()
    assert text == "" or text.endswith("\n")  # no half line
    return [(r["task_id"], r["sample"]) for r in map(json.loads, text.splitlines())]


def _default_sigint():  # a shell's background job ignores SIGINT; a user's terminal does not
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_at_once_keeps_what_is_written_and_a_rerun_resumes(standin, tmp_path):
    path, out = _tasks_file(tmp_path, 40), tmp_path / "tr.jsonl"
    standin.delay = 0.5  # 80 samples two at a time: 20 s if the queue ran on after Ctrl-C
    cmd = [sys.executable, "-m", "localthink", "distill", "traces", str(path), "-o", str(out)]
    cmd += ["--split", "all", "--teacher", f"openai:{standin.url}", "--model", "m"]
    cmd += ["--samples", "2", "--concurrency", "2"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint
    )
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    sent = time.time()
    try:
        _, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("Ctrl-C did not stop the run within 5 s")
    assert time.time() - sent < 5 and proc.returncode == 130
    assert "Traceback" not in err
    kept = _keys(out)
    assert 3 <= len(kept) < 20 and len(set(kept)) == len(kept)
    assert err.strip().splitlines()[-1] == (
        f"localthink: interrupted: {len(kept)} samples kept in {out}, run again to resume"
    )
    standin.delay = 0.0
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"{80 - len(kept)} new samples, {len(kept)} already done" in r.stdout
    keys = _keys(out)
    assert sorted(keys) == sorted((f"t{i}", k) for i in range(40) for k in range(2))


def test_a_teacher_slower_than_timeout_fails_in_one_line_keeping_samples(tmp_path):
    slow = SlowAfter(fast=2, seconds=3)
    url = slow.start()
    try:
        path, out = _tasks_file(tmp_path, 4), tmp_path / "tr.jsonl"
        started = time.time()
        r = localthink(
            *("distill", "traces", str(path), "-o", str(out), "--split", "all"),
            *("--teacher", f"openai:{url}", "--model", "m", "--samples", "1"),
            *("--concurrency", "1", "--retries", "1", "--timeout", "1"),
            timeout=120,
        )
    finally:
        slow.stop()
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"localthink: error: openai:{url} failed 2 times (last: no reply within 1 s, "
        f"see --timeout); 2 samples kept in {out}, run again to resume"
    )
    assert len(_keys(out)) == 2
    assert time.time() - started < 30


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--concurrency", "0"), ("--samples", "0"), ("--samples", "-1"), ("--timeout", "0")],
)
def test_counts_below_one_are_usage_errors(tmp_path, flag, value):
    path = _tasks_file(tmp_path, 1)
    r = localthink(
        *("distill", "traces", str(path), "-o", str(tmp_path / "tr.jsonl")),
        *("--teacher", "openai:http://127.0.0.1:9/v1", "--model", "m", f"{flag}={value}"),
        timeout=60,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("localthink distill traces: error: ") and r.stderr.count("\n") == 1
    assert f"argument {flag}: '{value}' is not a whole number of at least 1" in r.stderr
    assert not (tmp_path / "tr.jsonl").exists()


def test_negative_retries_is_one_line(tmp_path):
    path = _tasks_file(tmp_path, 1)
    r = localthink(
        *("distill", "traces", str(path), "-o", str(tmp_path / "tr.jsonl")),
        *("--teacher", "openai:http://127.0.0.1:9/v1", "--model", "m", "--retries=-1"),
        timeout=60,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith(
        "localthink distill traces: error: argument --retries: '-1' is not a whole number of at"
        " least 0"
    )


def test_a_stopping_run_asks_the_openai_teacher_nothing_more(standin):
    stopped = threading.Event()
    stopped.set()
    with pytest.raises(Cancelled):
        OpenAITeacher(standin.url, "m").sample("What is 1+0?", SamplingParams(), 0, stopped)
    assert standin.requests == 0


def test_a_stopping_run_stops_a_local_teacher_mid_trace_and_keeps_no_half(smollm2_path):
    teacher = GGUFTeacher(str(smollm2_path))
    stopped = threading.Event()
    stopped.set()
    with pytest.raises(Cancelled):
        teacher.sample("What is 1+0?", SamplingParams(max_tokens=64), 0, stopped)
