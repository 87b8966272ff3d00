"""A long conversation never stops dead: the prompt leaves out the oldest turns and says so."""

from __future__ import annotations

from localthink.chat import open_model
from localthink.engine.llama import LoadOptions
from localthink.engine.protocol import SamplingParams
from localthink.store.db import Store
from localthink.tui.app import ChatApp
from localthink.tui.widgets.messages import ContextNotice
from localthink.tui.widgets.reply import ReplyView
from localthink.tui.widgets.status import StatusBar
from tests.tui.test_app_real_model import wait_for

CTX, MAX_TOKENS, TURNS = 512, 12, 30


async def test_thirty_turns_at_ctx_512_run_to_the_end_and_say_what_was_left_out(
    tmp_path, smollm2_path
):
    store = Store(tmp_path / "chats.db")
    app = ChatApp(
        params=SamplingParams(temperature=0.0, max_tokens=MAX_TOKENS),
        opener=lambda spec: open_model(str(smollm2_path), LoadOptions(n_ctx=CTX), subprocess=True),
        store=store,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        for turn in range(1, TURNS + 1):
            app.query_one("#prompt").load_text(f"Turn {turn}: name a colour and a fruit.")
            app.query_one("#prompt").focus()
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda turn=turn: app.streaming is None and len(app.query(ReplyView)) == turn,
                timeout=180,
            )
        notices = [str(n.render()) for n in app.query(ContextNotice)]
        left_out = app.session.turns_left_out
        bar = str(app.query_one(StatusBar).render())
    replies = [m for m in store.messages(app.conversation_id) if m.role == "assistant"]
    assert len(replies) == TURNS
    assert all(r.status in ("complete", "truncated") for r in replies)  # none failed
    room = min(MAX_TOKENS, CTX // 2)
    assert all(r.figures["prompt_tokens"] + room <= CTX for r in replies)  # each prompt fits
    assert left_out > 0 and f"{left_out} earlier turns out of context" in bar
    assert notices == [f"{left_out} earlier turns are outside the model's context"]
    assert len(store.messages(app.conversation_id)) == 2 * TURNS  # nothing stored is dropped
