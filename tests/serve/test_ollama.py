"""The real `ollama` Python package against `localthink serve`, as OLLAMA_HOST users see it."""

from __future__ import annotations

import ollama
import pytest

THINK = "smollm2-think"
PLAIN = "smollm2-135m"
OPTIONS = {"temperature": 0, "seed": 1, "num_predict": 60}


@pytest.fixture(scope="module")
def client(server):
    return ollama.Client(host=server.url, timeout=120)


def test_tags_show_and_version_describe_the_local_models(client):
    names = {m.model for m in client.list().models}
    assert {THINK, PLAIN} <= names
    shown = client.show(PLAIN)
    assert "im_start" in shown.template  # the GGUF's own chat template
    assert shown.details.quantization_level == "Q4_1"
    assert "thinking" in shown.capabilities


def test_chat_puts_thinking_in_message_thinking(client):
    r = client.chat(
        model=THINK, messages=[{"role": "user", "content": "What is 2+3?"}], options=OPTIONS
    )
    assert r.message.thinking and "<think>" not in r.message.thinking
    assert r.message.content and "</think>" not in r.message.content
    assert r.done and r.done_reason == "stop" and r.eval_count > 0


def test_chat_stream_matches_the_whole_reply(client):
    messages = [{"role": "user", "content": "What is 2+3?"}]
    whole = client.chat(model=THINK, messages=messages, options=OPTIONS)
    thinking, content, last = [], [], None
    for part in client.chat(model=THINK, messages=messages, options=OPTIONS, stream=True):
        thinking.append(part.message.thinking or "")
        content.append(part.message.content or "")
        last = part
    assert "".join(thinking) == whole.message.thinking
    assert "".join(content) == whole.message.content
    assert last.done and last.eval_count == whole.eval_count


def test_think_false_skips_thinking(client):
    r = client.chat(
        model=THINK,
        messages=[{"role": "user", "content": "What is 2+3?"}],
        options=OPTIONS,
        think=False,
    )
    assert not r.message.thinking and r.message.content


def test_generate_with_template_and_raw(client):
    r = client.generate(model=THINK, prompt="What is 2+3?", options=OPTIONS)
    assert r.thinking and r.response
    raw = client.generate(
        model=PLAIN, prompt="The capital of France is", raw=True, options={"num_predict": 5}
    )
    assert raw.response.startswith(" ") and raw.eval_count == 5 and not raw.thinking


def test_ps_shows_the_loaded_model(client):
    client.generate(model=PLAIN, prompt="Hi", options={"num_predict": 1})
    running = client.ps().models
    assert [m.model for m in running] == [PLAIN]  # one resident at a time


def test_unknown_model_is_an_ollama_error(client):
    with pytest.raises(ollama.ResponseError) as err:
        client.chat(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
    assert err.value.status_code == 404 and "not found" in err.value.error
