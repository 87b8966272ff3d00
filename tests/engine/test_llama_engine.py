"""Real llama.cpp on the real SmolLM2-135M GGUF."""

import threading

import pytest

from localthink.engine.llama import LlamaEngine, LoadOptions
from localthink.engine.protocol import AnswerDelta, Done, Message, SamplingParams, ThinkDelta
from localthink.errors import ModelLoadError, PromptTooLongError

GREEDY = SamplingParams(max_tokens=48, temperature=0.0, seed=0)


def reply(engine, messages, params=GREEDY, cancel=None) -> tuple[list, Done]:
    events = list(engine.stream(messages, params, cancel))
    assert isinstance(events[-1], Done)
    return events[:-1], events[-1]


def test_streams_answer_with_figures(engine):
    deltas, done = reply(engine, [Message("user", "Name a colour.")])
    assert deltas and all(isinstance(d, AnswerDelta) for d in deltas)
    assert "".join(d.text for d in deltas) == done.answer
    s = done.stats
    assert s.thinking_tokens == 0 and 0 < s.answer_tokens <= 48
    assert s.prompt_tokens > 5 and s.ttft_s > 0 and s.gen_tokens_per_s > 0
    assert s.stop_reason in ("done", "length")
    assert s.answer_tokens >= engine.count_tokens(done.answer) - 1


def test_template_opened_thinking_is_split_and_counted(think_engine):
    assert think_engine.starts_inside
    deltas, done = reply(think_engine, [Message("user", "What is 2+2?")])
    assert done.thinking == "2 plus 2 is 4."
    assert done.answer == "The answer is 4."
    kinds = [type(d) for d in deltas]
    assert kinds.index(AnswerDelta) > kinds.index(ThinkDelta)
    assert ThinkDelta not in kinds[kinds.index(AnswerDelta) :]
    s = done.stats
    # Tokenizer counts, not characters: the tag and its newlines count as thinking.
    assert s.thinking_tokens >= think_engine.count_tokens(done.thinking)
    assert s.answer_tokens >= think_engine.count_tokens(done.answer)
    assert s.thinking_tokens < len(done.thinking)
    assert s.stop_reason == "done" and s.thinking_closed
    assert s.thinking_s > 0 and s.answer_s > 0


def test_thinking_cut_by_token_limit_is_length(think_engine):
    _, done = reply(
        think_engine,
        [Message("user", "What is 2+2?")],
        SamplingParams(max_tokens=3, temperature=0.0),
    )
    assert done.stats.stop_reason == "length"
    assert done.stats.thinking_tokens == 3 and done.answer == ""
    assert not done.stats.thinking_closed


def test_same_seed_same_reply(engine):
    params = SamplingParams(max_tokens=24, temperature=0.8, seed=42)
    _, a = reply(engine, [Message("user", "Tell me a story.")], params)
    _, b = reply(engine, [Message("user", "Say something else entirely.")], params)
    _, c = reply(engine, [Message("user", "Tell me a story.")], params)
    assert a.answer == c.answer


def test_second_turn_reuses_kv_cache(engine):
    first = [Message("user", "What is the capital of France?")]
    _, one = reply(engine, first)
    second = [*first, Message("assistant", one.answer), Message("user", "And of Spain?")]
    _, two = reply(engine, second)
    assert two.stats.prompt_tokens > one.stats.prompt_tokens
    assert (
        two.stats.prompt_tokens_evaluated < two.stats.prompt_tokens - one.stats.prompt_tokens // 2
    )


def test_cancel_stops_mid_stream(engine):
    cancel = threading.Event()
    seen = 0
    done = None
    for event in engine.stream(
        [Message("user", "Write a long essay about rivers.")],
        SamplingParams(max_tokens=400, seed=1),
        cancel,
    ):
        if isinstance(event, AnswerDelta):
            seen += 1
            if seen == 5:
                cancel.set()
        if isinstance(event, Done):
            done = event
    assert done.stats.stop_reason == "stopped"
    assert done.stats.answer_tokens < 20


def test_prompt_longer_than_context_is_refused(smollm2_path):
    small = LlamaEngine(smollm2_path, LoadOptions(n_ctx=64))
    try:
        with pytest.raises(PromptTooLongError, match="context holds 64"):
            list(small.stream([Message("user", "word " * 200)], GREEDY))
    finally:
        small.close()


def test_gguf_llama_cpp_cannot_load_is_one_line_error(smollm2_path, tmp_path):
    from localthink.models.gguf_file import copy_gguf

    broken = tmp_path / "noarch.gguf"
    copy_gguf(smollm2_path, broken, {"general.architecture": "no-such-arch"})
    with pytest.raises(ModelLoadError, match="could not load"):
        LlamaEngine(broken)


def test_threads_default_to_one_per_physical_core(tmp_path):
    """Half the logical CPUs was right only with two hyper-threads a core: on this 2-core VM
    (one thread each) and on Apple silicon it left half the cores idle."""
    from localthink.engine.llama import physical_cores

    def topology(siblings: dict[int, str]) -> None:
        for cpu, text in siblings.items():
            d = tmp_path / f"cpu{cpu}" / "topology"
            d.mkdir(parents=True, exist_ok=True)
            (d / "thread_siblings_list").write_text(text + "\n")

    topology({0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"})  # 2 cores, 2 threads each
    assert physical_cores({0, 1, 2, 3}, tmp_path) == 2
    assert physical_cores({0, 2}, tmp_path) == 1  # the affinity mask allows one core
    topology({4: "4", 5: "5"})  # no hyper-threads
    assert physical_cores({4, 5}, tmp_path) == 2
    assert physical_cores({4, 5, 9}, tmp_path) == 3  # unreadable topology: its own core
