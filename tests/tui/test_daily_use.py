"""Defects a new user hit in daily use (issue 19), on real llama.cpp with the SmolLM2 GGUFs."""

from __future__ import annotations

import time

import pytest

from localthink.models.gguf_file import copy_gguf
from localthink.store.stats import query_rows
from localthink.tui.widgets.reply import ReplyView
from localthink.tui.widgets.status import StatusBar
from tests.conftest import _SHOTS
from tests.tui.test_app_real_model import Throttled, make_app, send, wait_for

# The generation prompt already holds a whole answer, so the model's first token ends it:
# a really empty reply from real llama.cpp.
EMPTY_TEMPLATE = (
    _SHOTS + "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n2 plus 2 is 4."
    "\n</think>\n\nThe answer is 4.{% endif %}"
)


@pytest.fixture(scope="module")
def empty_gguf(smollm2_path, tmp_path_factory):
    dst = tmp_path_factory.mktemp("gguf") / "smollm2-empty.gguf"
    copy_gguf(smollm2_path, dst, {"tokenizer.chat_template": EMPTY_TEMPLATE})
    return dst


def finished(app):
    return lambda: app.streaming is None and app.query(ReplyView) and app.query(ReplyView)[-1].done


async def test_app_keys_work_from_the_message_box(tmp_path, think_gguf):
    app, _ = make_app(tmp_path, think_gguf, max_tokens=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await send(pilot, "What is 2+2?")
        await wait_for(pilot, finished(app))
        view = app.query_one(ReplyView)
        assert app.focused is app.query_one("#prompt")
        await pilot.press("ctrl+e")  # the message box took it as "end of line"
        assert app.hide_thinking and not view.thinking.display
        await pilot.press("ctrl+y")  # ... and this as "redo"
        assert app.clipboard == view.answer_text == "The answer is 4."


PROMPT_READ_S = 3.0


class SlowPromptRead(Throttled):
    """The real engine with a wait before its first token, as a long prompt has."""

    def stream(self, messages, params, cancel=None):
        time.sleep(PROMPT_READ_S)
        yield from self.engine.stream(messages, params, cancel)


async def test_the_thinking_timer_starts_at_the_first_token_as_the_final_figure(
    tmp_path, think_gguf
):
    app, _ = make_app(tmp_path, think_gguf, wrap=SlowPromptRead, max_tokens=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await send(pilot, "What is 2+2?")
        await wait_for(pilot, lambda: app.query(ReplyView))
        await pilot.pause(1.0)  # the prompt is being read: no thinking to time yet
        view = app.query_one(ReplyView)
        assert view.thinking.title == "Reading the prompt…"  # it said "Thinking… 1.0 s"
        await wait_for(pilot, finished(app))
        s = view.done.stats
        live = view.think_seconds
        # Both run from the first token now; the app sees thinking end when the answer's
        # first text comes, a token after the closing tag (0.01-0.05 s on a free machine,
        # seconds on a loaded one): never before the engine's end, never after the answer's
        assert s.thinking_s - 0.1 <= live <= s.thinking_s + s.answer_s + 0.1, (live, s)


async def test_an_empty_reply_says_so_and_no_figure_is_negative(tmp_path, empty_gguf):
    app, store = make_app(tmp_path, empty_gguf, max_tokens=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await send(pilot, "What is 2+2?")
        await wait_for(pilot, finished(app))
        view = app.query_one(ReplyView)
        assert view.done.stats.gen_tokens == 0  # really empty
        assert str(view.why.render()) == "the model returned nothing"
        await pilot.press("ctrl+r")  # as the user did: regenerate after the empty reply
        await wait_for(pilot, lambda: finished(app)() and app.query_one(ReplyView).done)
    [row] = query_rows(store)
    assert row.answer_s >= 0 and row.thinking_s >= 0
    [stored] = [m for m in store.messages(row.conversation_id) if m.role == "assistant"]
    assert all(v >= 0 for v in stored.figures.values() if isinstance(v, (int, float)))


async def test_a_reply_cut_off_while_thinking_says_why(tmp_path, think_gguf):
    app, store = make_app(tmp_path, think_gguf, max_tokens=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await send(pilot, "What is 2+2?")
        await wait_for(pilot, finished(app))
        why = "no answer: thinking did not finish within 3 tokens"
        assert str(app.query_one(ReplyView).why.render()) == why
        conversation = app.conversation_id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: not app.query(ReplyView))
        assert app.query_one(StatusBar).ctx_used == 0
        await app.show_conversation(conversation)  # reopened, it says so again
        await pilot.pause(0.1)
        assert str(app.query_one(ReplyView).why.render()) == why
        reply = store.messages(conversation)[-1].figures
        used = reply["prompt_tokens"] + reply["thinking_tokens"] + reply["answer_tokens"]
        assert app.query_one(StatusBar).ctx_used == used > 0  # it read 0/2048


def test_a_reply_cut_by_a_full_context_says_context_full():
    from localthink.engine.protocol import ReplyStats
    from localthink.tui.widgets.reply import figures_text

    line = figures_text(ReplyStats(thinking_tokens=3, answer_tokens=250, stop_reason="context"))
    assert line.endswith(" · context full")  # it said "done"
    assert figures_text(ReplyStats(stop_reason="length")).endswith(" · length")
    assert " tok/s · 2 threads · done" in figures_text(ReplyStats(threads=2))
    assert " tok/s · 1 thread · done" in figures_text(ReplyStats(threads=1))
    assert "thread" not in figures_text({"answer_tokens": 3})  # stored before it was kept
