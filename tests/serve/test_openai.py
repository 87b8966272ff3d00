"""The real OpenAI SDK against `localthink serve`: thinking apart, usage, controls, errors."""

from __future__ import annotations

import openai
import pytest

THINK = "smollm2-think"  # its template opens <think>: every reply thinks first
PLAIN = "smollm2-135m"


@pytest.fixture(scope="module")
def client(server):
    c = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", timeout=120, max_retries=0)
    yield c
    c.close()


def ask(client, content="What is 2+3?", model=THINK, **kw):
    return client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": content}],
        **{"max_tokens": 60, "temperature": 0, "seed": 1, **kw},
    )


def test_models_lists_what_localthink_models_lists(client):
    ids = {m.id for m in client.models.list()}
    assert {THINK, PLAIN} <= ids


def test_reasoning_comes_apart_from_the_answer(client):
    r = ask(client)
    msg = r.choices[0].message
    reasoning = msg.model_extra.get("reasoning_content")
    assert reasoning and "<think>" not in reasoning and "</think>" not in reasoning
    assert msg.content and "</think>" not in msg.content and reasoning not in msg.content
    figures = r.model_extra["localthink"]
    assert r.usage.completion_tokens_details.reasoning_tokens == figures["thinking_tokens"] > 0
    assert r.usage.completion_tokens == figures["thinking_tokens"] + figures["answer_tokens"]
    assert r.usage.prompt_tokens == figures["prompt_tokens"] > 0
    assert r.choices[0].finish_reason == "stop"


def test_stream_sends_reasoning_deltas_then_answer_then_usage(client):
    whole = ask(client)
    stream = client.chat.completions.create(
        model=THINK,
        messages=[{"role": "user", "content": "What is 2+3?"}],
        temperature=0,
        seed=1,
        max_tokens=60,
        stream=True,
        stream_options={"include_usage": True},
    )
    reasoning, content, order, usage, figures = [], [], [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        r = (delta.model_extra or {}).get("reasoning_content")
        if r:
            reasoning.append(r)
            order.append("r")
        if delta.content:
            content.append(delta.content)
            order.append("c")
        figures = (chunk.model_extra or {}).get("localthink") or figures
    assert "".join(reasoning) == whole.choices[0].message.model_extra["reasoning_content"]
    assert "".join(content) == whole.choices[0].message.content
    assert order.index("c") > max(i for i, k in enumerate(order) if k == "r")  # think, then answer
    assert usage is not None and usage.completion_tokens_details.reasoning_tokens > 0
    assert (
        figures is not None
        and figures["thinking_tokens"] == usage.completion_tokens_details.reasoning_tokens
    )


@pytest.mark.parametrize(
    "controls",
    [
        {"reasoning_effort": "none"},
        {"extra_body": {"chat_template_kwargs": {"enable_thinking": False}}},
        {"extra_body": {"thinking_budget_tokens": 0}},
    ],
)
def test_thinking_can_be_turned_off_per_request(client, controls):
    r = ask(client, **controls)
    assert not r.choices[0].message.model_extra.get("reasoning_content")
    assert r.usage.completion_tokens_details.reasoning_tokens == 0
    assert r.choices[0].message.content


def test_thinking_budget_caps_the_thinking(client):
    free = ask(client, "Explain why the sky is blue, step by step.", max_tokens=200)
    capped = ask(
        client,
        "Explain why the sky is blue, step by step.",
        max_tokens=200,
        extra_body={"thinking_budget_tokens": 8},
    )
    free_n = free.usage.completion_tokens_details.reasoning_tokens
    capped_n = capped.usage.completion_tokens_details.reasoning_tokens
    assert free_n > 20 and capped_n < free_n
    assert capped.model_extra["localthink"]["thinking_closed"] is True
    assert capped.choices[0].message.content  # it was made to answer


def test_earlier_thinking_never_reaches_the_model(client):
    def prompt_tokens(assistant: dict) -> int:
        r = client.chat.completions.create(
            model=PLAIN,
            messages=[
                {"role": "user", "content": "What is 2+3?"},
                assistant,
                {"role": "user", "content": "And 3+3?"},
            ],
            max_tokens=1,
        )
        return r.usage.prompt_tokens

    bare = prompt_tokens({"role": "assistant", "content": "It is 5."})
    as_field = {"role": "assistant", "content": "It is 5.", "reasoning_content": "2 and 3 is 5"}
    inline = {"role": "assistant", "content": "<think>\n2 and 3 make 5\n</think>\n\nIt is 5."}
    assert prompt_tokens(as_field) == bare
    assert prompt_tokens(inline) == bare
    kept = prompt_tokens({"role": "assistant", "content": "2 and 3 make 5. It is 5."})
    assert kept > bare  # the measure can tell


def test_plain_completion_continues_text_without_a_template(client):
    r = client.completions.create(
        model=PLAIN, prompt="The capital of France is", max_tokens=6, temperature=0
    )
    assert r.choices[0].text.startswith(" ")
    assert r.usage.completion_tokens == 6 and r.choices[0].finish_reason == "length"
    assert r.usage.prompt_tokens < 10  # no chat template around it


def test_unknown_model_is_404_in_openai_shape(client):
    with pytest.raises(openai.NotFoundError) as err:
        ask(client, model="no-such-model")
    assert err.value.body["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        ask(client, model="/etc/passwd")  # a path is never taken from a request


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 100000}, "past the model's context"),
        ({"temperature": -1}, "temperature"),
        ({"reasoning_effort": "extreme"}, "reasoning effort"),
    ],
)
def test_bad_values_are_400_naming_the_problem(client, kw, words):
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, **kw)
    assert words in err.value.body["message"]


def test_prompt_longer_than_the_context_is_400(client):
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "word " * 3000)
    assert err.value.body["code"] == "context_length_exceeded"
    assert ask(client, max_tokens=2).choices  # and the server goes on serving
