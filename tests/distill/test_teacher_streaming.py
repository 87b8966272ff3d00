"""The openai: teacher streamed (the default) and not: same traces, timeouts between chunks."""

from __future__ import annotations

import json
import threading
import time

import pytest

from localthink.distill.tasks import Task, write_tasks
from localthink.distill.teachers import Cancelled, OpenAITeacher, TeacherUnavailable
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


def ask(standin, stream, question="What is 7+0?", **kwargs):
    teacher = OpenAITeacher(standin.url, "m", backoff=0.01, stream=stream, **kwargs)
    return teacher.sample(question, PARAMS, 0)


@pytest.mark.parametrize("mode", ["ok", "reasoning", "length"])
def test_streamed_and_whole_replies_give_the_same_sample(standin, mode):
    standin.default = mode
    streamed, whole = ask(standin, True), ask(standin, False)
    assert [b["stream"] for b in standin.bodies] == [True, False]
    assert standin.bodies[0]["stream_options"] == {"include_usage": True}
    assert "stream_options" not in standin.bodies[1]
    fields = ("thinking", "answer", "finish_reason", "thinking_closed", "completion_tokens")
    assert [getattr(streamed, f) for f in fields] == [getattr(whole, f) for f in fields]
    assert streamed.prompt_tokens == whole.prompt_tokens == 10


def test_streamed_reasoning_content_is_the_thinking(standin):
    standin.default, standin.piece = "reasoning", 3
    s = ask(standin, True)
    assert (s.thinking, s.answer, s.thinking_closed) == ("Reasoning about 7.", "\\boxed{7}", True)


def test_streamed_think_tags_cut_across_chunks_are_split(standin):
    standin.piece = 3  # "<think>" and "</think>" arrive in pieces
    s = ask(standin, True)
    assert (s.thinking, s.answer, s.finish_reason) == (
        "Let me think about 7.",
        "\\boxed{7}",
        "stop",
    )


def test_a_stream_without_usage_counts_its_chunks(standin):
    standin.stream_usage = False
    s = ask(standin, True)
    assert (s.prompt_tokens, s.completion_tokens) == (0, 13)  # 49 characters, 4 a chunk


def test_a_stream_cut_mid_reply_is_asked_again_and_the_record_is_whole(standin, tmp_path):
    standin.script = ["cut"]
    out = tmp_path / "tr.jsonl"
    written, _ = run_traces(
        [Task("t7", "What is 7+0?", "7")],
        OpenAITeacher(standin.url, "m", backoff=0.01),
        out,
        1,
        PARAMS,
    )
    assert (written, standin.requests) == (1, 2)
    [rec] = [json.loads(line) for line in out.read_text().splitlines()]
    assert (rec["thinking"], rec["answer"]) == ("Let me think about 7.", "\\boxed{7}")
    assert rec["correct"] is True and rec["completion_tokens"] == 20


@pytest.mark.parametrize("stream", [True, False])
def test_a_reply_that_keeps_breaking_off_fails_in_one_line(standin, stream):
    standin.default = "cut"
    with pytest.raises(TeacherUnavailable) as info:
        ask(standin, stream, retries=1)
    assert str(info.value).startswith(f"openai:{standin.url} failed 2 times (last: ")
    assert "\n" not in str(info.value) and standin.requests == 2


def test_cancel_mid_stream_returns_promptly_and_asks_nothing_more(standin):
    standin.interval, standin.piece = 0.1, 1  # about 6 s of stream
    stopped, raised = threading.Event(), []

    def run():
        try:
            OpenAITeacher(standin.url, "m").sample("What is 7+0?", PARAMS, 0, stopped)
        except Cancelled:
            raised.append(time.monotonic())

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)  # mid-reply
    stopped.set()
    at = time.monotonic()
    worker.join(timeout=5)
    assert raised and raised[0] - at < 0.5 and standin.requests == 1


def _slow_run(standin, tmp_path, *flags):
    """A teacher that takes about 3 s a reply, sending something every 0.4 s."""
    standin.interval, standin.piece = 0.4, 12
    path, out = tmp_path / "tasks.jsonl", tmp_path / "tr.jsonl"
    write_tasks([Task("t7", "What is 7+0?", "7")], path)
    started = time.monotonic()
    r = localthink(
        *("distill", "traces", str(path), "-o", str(out), "--split", "all", "--samples", "1"),
        *("--teacher", f"openai:{standin.url}", "--model", "m", "--retries", "0"),
        *("--timeout", "1", *flags),
        timeout=60,
    )
    return r, out, time.monotonic() - started


def test_a_slow_stream_that_keeps_sending_outlasts_the_timeout(standin, tmp_path):
    r, out, seconds = _slow_run(standin, tmp_path)
    assert r.returncode == 0, r.stderr
    assert seconds > 3 and standin.bodies[0]["stream"] is True
    [rec] = [json.loads(line) for line in out.read_text().splitlines()]
    assert rec["answer"] == "\\boxed{7}" and rec["finish_reason"] == "stop"


def test_the_same_slow_teacher_times_out_with_no_stream(standin, tmp_path):
    r, out, _ = _slow_run(standin, tmp_path, "--no-stream")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert standin.bodies[0]["stream"] is False
    assert r.stderr.strip().splitlines()[-1] == (
        f"localthink: error: openai:{standin.url} failed once (last: no reply within 1 s, "
        f"see --timeout); 0 samples kept in {out}, run again to resume"
    )
