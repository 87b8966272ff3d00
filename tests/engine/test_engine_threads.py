"""The thread count on the real SmolLM2: set in llama.cpp, reported in the figures."""

from __future__ import annotations

import llama_cpp

from localthink.cli.ask import figures_line
from localthink.engine.llama import LlamaEngine, default_threads
from localthink.engine.protocol import Done, LoadOptions, Message, ReplyStats, SamplingParams
from localthink.engine.subprocess_engine import SubprocessEngine

QUESTION = [Message("user", "Count from one to twenty in words.")]
GREEDY = SamplingParams(max_tokens=48, temperature=0.0)


def reply(engine) -> Done:
    return [e for e in engine.stream(QUESTION, GREEDY) if isinstance(e, Done)][0]


def llama_counts(engine: LlamaEngine) -> tuple[int, int]:
    ctx = engine._llm.ctx
    return llama_cpp.llama_n_threads(ctx), llama_cpp.llama_n_threads_batch(ctx)


def test_an_unpinned_engine_times_every_token_and_reports_its_count(engine):
    done = reply(engine)
    stats = done.stats
    assert 1 <= stats.threads <= default_threads()
    # every token after the first (the prompt's evaluation) was timed, at some count
    assert stats.gen_tokens - 1 <= sum(engine.tuner.used.values()) <= stats.gen_tokens
    assert stats.threads == engine.tuner.used.most_common(1)[0][0]
    assert llama_counts(engine) == (engine.tuner.threads, engine.tuner.threads)


def test_the_tuner_changes_llama_cpp_s_counts_for_generation_and_prompt(engine):
    before = engine.tuner.threads
    try:
        engine._set_threads(1)
        assert llama_counts(engine) == (1, 1)
        engine._set_threads(3)
        assert llama_counts(engine) == (3, 3)
    finally:
        engine._set_threads(before)


def test_a_pinned_count_is_used_as_given(smollm2_path):
    pinned = LlamaEngine(smollm2_path, LoadOptions(n_ctx=512, n_threads=1))
    try:
        assert llama_counts(pinned) == (1, 1)
        done = reply(pinned)
        assert done.stats.threads == 1 and not pinned.tuner.adapt
        assert llama_counts(pinned) == (1, 1)
    finally:
        pinned.close()


def test_the_chat_apps_child_reports_its_count_across_the_pipe(smollm2_path):
    child = SubprocessEngine(smollm2_path, LoadOptions(n_ctx=512))
    try:
        assert 1 <= reply(child).stats.threads <= default_threads()
    finally:
        child.close()


def test_the_figures_line_names_the_count():
    stats = ReplyStats(answer_tokens=5, gen_tokens_per_s=40.0, threads=3)
    assert figures_line(stats).endswith("40.0 tok/s · 3 threads · done")
    stats.threads = 1
    assert "· 1 thread ·" in figures_line(stats)
    stats.threads = 0
    assert "thread" not in figures_line(stats)
