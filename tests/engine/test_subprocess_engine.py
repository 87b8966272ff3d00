"""The chat app's engine: LlamaEngine in a child process, same events, same errors."""

import os
import signal
import threading

import pytest

from localthink.engine.protocol import AnswerDelta, Done, Message, SamplingParams
from localthink.engine.subprocess_engine import SubprocessEngine
from localthink.errors import BadGGUFError, GenerationError

GREEDY = SamplingParams(max_tokens=40, temperature=0.0)


@pytest.fixture(scope="module")
def child_think_engine(think_gguf):
    e = SubprocessEngine(think_gguf, name="smollm2-think")
    yield e
    e.close()


def test_same_reply_as_in_process(child_think_engine, think_engine):
    question = [Message("user", "What is 2+3?")]
    child = list(child_think_engine.stream(question, GREEDY))
    local = list(think_engine.stream(question, GREEDY))
    assert child[-1].thinking == local[-1].thinking == "2 plus 3 is 5."
    assert child[-1].answer == local[-1].answer
    assert child[-1].stats.thinking_tokens == local[-1].stats.thinking_tokens
    assert [type(e) for e in child] == [type(e) for e in local]
    assert child_think_engine.info.name == "smollm2-think"
    assert child_think_engine.count_tokens("hello world") == think_engine.count_tokens(
        "hello world"
    )


def test_cancel_reaches_the_child(smollm2_path):
    engine = SubprocessEngine(smollm2_path)
    try:
        cancel = threading.Event()
        events = []
        for event in engine.stream(
            [Message("user", "Write a long essay on rivers.")],
            SamplingParams(max_tokens=2000, seed=1),
            cancel,
        ):
            events.append(event)
            if sum(isinstance(e, AnswerDelta) for e in events) == 5:
                cancel.set()
        assert isinstance(events[-1], Done) and events[-1].stats.stop_reason == "stopped"
        # the engine is usable again afterwards
        again = list(engine.stream([Message("user", "Hi")], SamplingParams(max_tokens=5)))
        assert isinstance(again[-1], Done)
    finally:
        engine.close()


def test_bad_file_error_crosses_the_process_boundary(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all")
    with pytest.raises(BadGGUFError, match="not a GGUF"):
        SubprocessEngine(bad)


def test_child_killed_mid_reply_is_a_generation_error(smollm2_path):
    engine = SubprocessEngine(smollm2_path)
    try:
        stream = engine.stream(
            [Message("user", "Write a long essay on rivers.")], SamplingParams(max_tokens=5000)
        )
        next(stream)
        os.kill(engine._proc.pid, signal.SIGKILL)
        with pytest.raises(GenerationError, match="died"):
            for _ in stream:
                pass
    finally:
        engine.close()


def test_child_killed_while_idle_is_a_generation_error_on_the_next_question(smollm2_path):
    """Before, the next send met a closed pipe: a BrokenPipeError crashed the chat app."""
    engine = SubprocessEngine(smollm2_path)
    try:
        os.kill(engine._proc.pid, signal.SIGKILL)
        engine._proc.join(timeout=10)
        with pytest.raises(GenerationError, match="died"):
            list(engine.stream([Message("user", "Hi")], SamplingParams(max_tokens=4)))
        with pytest.raises(GenerationError, match="died"):
            engine.count_tokens("Hi")
    finally:
        engine.close()


def test_events_leave_the_child_in_batches_the_first_at_once():
    """A message per token woke the window's process per token; now the first event goes
    alone (the first token shows at once), then what came in each interval, then the rest."""
    from localthink.engine.subprocess_engine import batched

    now = [0.0]
    times = [0.0, 0.01, 0.02, 0.04, 0.06, 0.07, 0.20, 0.21]  # when each event was made

    def events():
        for i, t in enumerate(times):
            now[0] = t
            yield AnswerDelta(str(i))

    batches = [[e.text for e in b] for b in batched(events(), 0.05, clock=lambda: now[0])]
    assert batches == [["0"], ["1", "2", "3", "4"], ["5", "6"], ["7"]]
    assert list(batched(iter([]), 0.05)) == []
