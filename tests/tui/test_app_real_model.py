"""The real app, driven by Pilot, on real llama.cpp with the SmolLM2 GGUFs."""

from __future__ import annotations

import time

from localthink.chat import OpenedModel, open_model
from localthink.engine.llama import LoadOptions
from localthink.engine.protocol import SamplingParams
from localthink.errors import GenerationError
from localthink.store.db import Store
from localthink.tui.app import ChatApp
from localthink.tui.widgets.reply import ReplyView
from localthink.tui.widgets.sidebar import ConversationItem


async def wait_for(pilot, condition, timeout=60.0):
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting for the app")


class Throttled:
    """The real engine, slowed to ~20 events/s so a test can see the thinking phase."""

    def __init__(self, engine) -> None:
        self.engine, self.info = engine, engine.info

    def stream(self, messages, params, cancel=None):
        for event in self.engine.stream(messages, params, cancel):
            time.sleep(0.05)
            yield event

    def count_tokens(self, text):
        return self.engine.count_tokens(text)

    def prompt_tokens(self, messages, params):
        return self.engine.prompt_tokens(messages, params)

    def close(self):
        self.engine.close()


class FailsSecondReply(Throttled):
    """The real engine, whose second reply fails the way a dying model process does."""

    calls = 0

    def stream(self, messages, params, cancel=None):
        self.calls += 1
        if self.calls == 2:
            raise GenerationError("the model process died mid-reply")
        yield from self.engine.stream(messages, params, cancel)


def make_app(tmp_path, model, slow=False, wrap=None, system=None, **params):
    store = Store(tmp_path / "chats.db")
    wrap = wrap or (Throttled if slow else None)

    def opener(spec):
        opened = open_model(str(model), LoadOptions(n_ctx=2048), subprocess=True)  # as the app
        return OpenedModel(wrap(opened.engine), opened.resolved) if wrap else opened

    app = ChatApp(
        params=SamplingParams(temperature=0.0, **params), system=system, opener=opener, store=store
    )
    return app, store


async def send(pilot, text):
    await pilot.click("#prompt")
    await pilot.press(*text, "enter")


async def test_thinking_streams_then_collapses_and_figures_match_store(tmp_path, think_gguf):
    app, store = make_app(tmp_path, think_gguf, slow=True, max_tokens=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await send(pilot, "What is 2+2?")
        await wait_for(
            pilot, lambda: app.query(ReplyView) and app.query_one(ReplyView).thinking_parts
        )
        view = app.query_one(ReplyView)
        assert not view.thinking.collapsed  # open while thinking
        assert view.thinking.title.startswith("Thinking…")
        assert not view.answer_text
        await wait_for(pilot, lambda: view.done is not None and app.streaming is None)
        assert view.thinking.collapsed  # folded once the answer began
        s = view.done.stats
        assert (
            view.thinking.title == f"Thought for {s.thinking_s:.1f} s · {s.thinking_tokens} tokens"
        )
        assert view.answer_text == "The answer is 4."
        row = store.messages(app.conversation_id)[-1]
        assert row.status == "complete"
        assert row.thinking == "2 plus 2 is 4." and row.content == "The answer is 4."
        assert row.figures["thinking_tokens"] == s.thinking_tokens
        assert row.figures["answer_tokens"] == s.answer_tokens
        shown = str(view.figures.render())
        assert f"thinking {row.figures['thinking_tokens']} tok" in shown
        assert f"answer {row.figures['answer_tokens']} tok" in shown
        assert f"{row.figures['gen_tokens_per_s']:.1f} tok/s" in shown
        await pilot.press("ctrl+t")  # expand all thinking again
        assert not view.thinking.collapsed


async def test_escape_stops_and_keeps_partial_reply_as_stopped(tmp_path, smollm2_path):
    app, store = make_app(tmp_path, smollm2_path, max_tokens=1500)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await send(pilot, "Write a very long essay about the history of ships.")
        await wait_for(
            pilot, lambda: app.query(ReplyView) and len(app.query_one(ReplyView).answer_text) > 40
        )
        await pilot.press("escape")
        view = app.query_one(ReplyView)
        await wait_for(pilot, lambda: view.done is not None and app.streaming is None)
        assert view.done.stats.stop_reason == "stopped"
        assert view.done.stats.answer_tokens < 1500
        row = store.messages(app.conversation_id)[-1]
        assert row.status == "stopped"
        assert row.content == view.answer_text and len(row.content) > 40
        assert "stopped" in str(view.figures.render())


async def test_conversation_survives_restart_and_delete_works(tmp_path, think_gguf):
    app, store = make_app(tmp_path, think_gguf, max_tokens=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await send(pilot, "What is 1+2?")
        await wait_for(
            pilot,
            lambda: (
                app.streaming is None and app.query(ReplyView) and app.query_one(ReplyView).done
            ),
        )
        first_id = app.conversation_id
    store.close()

    app2, store2 = make_app(tmp_path, think_gguf, max_tokens=40)
    async with app2.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app2.session is not None)
        items = app2.query(ConversationItem)
        assert [i.conversation.id for i in items] == [first_id]
        await pilot.click(ConversationItem)
        await wait_for(pilot, lambda: app2.conversation_id == first_id and app2.query(ReplyView))
        view = app2.query_one(ReplyView)
        assert view.answer_text == "The answer is 3."
        assert view.thinking.collapsed and view.thinking.title.startswith("Thought for")
        # the restored history goes back to the model without its thinking
        assert [t.answer for t in app2.session.turns] == ["The answer is 3."]
        await pilot.press("ctrl+delete")
        await wait_for(pilot, lambda: app2.conversation_id is None)
        assert store2.conversations() == []
        assert not app2.query(ConversationItem)


async def test_regenerate_after_a_failed_reply_asks_that_question_again(tmp_path, smollm2_path):
    app, store = make_app(tmp_path, smollm2_path, wrap=FailsSecondReply, max_tokens=12)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await send(pilot, "Name a colour.")
        await wait_for(pilot, lambda: app.streaming is None and app.query(ReplyView))
        first = store.messages(app.conversation_id)[1]
        await send(pilot, "Name a fruit.")
        await wait_for(pilot, lambda: app.streaming is None and len(app.query(ReplyView)) == 2)
        assert store.messages(app.conversation_id)[-1].status == "error"
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: app.streaming is None and store.messages(app.conversation_id)[-1].content,
        )
        rows = store.messages(app.conversation_id)
        # the failed reply was replaced by an answer to its own question; the first exchange
        # is untouched (before the fix, Ctrl+R re-asked "Name a colour." after the fruit)
        assert [r.role for r in rows] == ["user", "assistant", "user", "assistant"]
        assert rows[-1].status in ("complete", "truncated")
        assert rows[1].id == first.id and rows[2].content == "Name a fruit."
        assert [t.user for t in app.session.turns] == ["Name a colour.", "Name a fruit."]
        assert len(app.query(ReplyView)) == 2


async def test_the_chat_command_system_prompt_reaches_the_model(tmp_path, smollm2_path):
    app, _ = make_app(tmp_path, smollm2_path, system="Answer in French.", max_tokens=4)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        assert app.session.system == "Answer in French."
        prompt = app.session.messages_for("Hi")
        assert prompt[0].role == "system" and prompt[0].content == "Answer in French."
