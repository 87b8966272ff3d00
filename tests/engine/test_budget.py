"""Budget forcing on real llama.cpp with the template-opened-<think> SmolLM2 GGUF."""

import pytest

from localthink.engine.budget import close_text
from localthink.engine.protocol import Done, Message, SamplingParams

QUESTION = [Message("user", "What is 2+2?")]


def reply(engine, **params) -> Done:
    events = list(engine.stream(QUESTION, SamplingParams(max_tokens=80, temperature=0.0, **params)))
    return events[-1]


@pytest.mark.parametrize("budget", [1, 3, 7])
def test_thinking_as_counted_never_exceeds_the_budget(think_engine, budget):
    free = reply(think_engine)
    assert free.stats.thinking_tokens > 7  # unforced, it thinks longer than every budget here
    done = reply(think_engine, think_budget=budget)
    tag = len(think_engine._special_ids(close_text(think_engine.tags)))
    if budget > tag:
        assert done.stats.thinking_tokens == budget  # the tag included
    else:  # shorter than the tag: one token of its own, then the tag
        assert done.stats.thinking_tokens == 1 + tag
    assert done.stats.thinking_closed and done.answer  # it went on to answer
    assert len(done.thinking) < len(free.thinking)


def test_minimum_thinking_is_respected(think_engine):
    free = reply(think_engine)
    done = reply(think_engine, min_think=30)
    assert free.stats.thinking_tokens < 30 <= done.stats.thinking_tokens
    assert "Wait" in done.thinking


@pytest.mark.parametrize("params", [{"no_think": True}, {"think_budget": 0}])
def test_no_think_gives_an_all_answer_reply(think_engine, params):
    done = reply(think_engine, **params)
    assert done.thinking == "" and done.stats.thinking_tokens == 0
    assert done.stats.answer_tokens > 0 and "4" in done.answer
