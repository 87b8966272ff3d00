"""Per-chat settings (F4), stored with the conversation (issue 19, part 3), on real SmolLM2."""

from __future__ import annotations

from localthink.store.chat_settings import chat_settings
from localthink.tui.screens.chat_settings import ChatSettingsScreen
from localthink.tui.widgets.reply import ReplyView
from localthink.tui.widgets.sidebar import ConversationItem
from localthink.tui.widgets.status import StatusBar
from tests.tui.test_app_real_model import make_app, wait_for


async def test_a_chats_settings_apply_are_stored_and_come_back(tmp_path, smollm2_path):
    app, store = make_app(tmp_path, smollm2_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        registry = app.opened.entry.sampling  # SmolLM2's curated defaults
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatSettingsScreen))
        screen = app.screen
        beside = [str(s.render()) for s in screen.query(".default")]
        assert str(app.user_params.temperature) in beside  # given on the command line
        assert str(registry["max_tokens"]) in beside and str(registry["top_p"]) in beside
        screen.query_one("#temperature").value = "-1"
        screen.query_one("#temperature").focus()
        await pilot.press("enter")
        problem = str(screen.query_one("#problem").render())
        assert problem == "temperature: '-1' must be a number of at least 0"
        assert app.screen is screen  # still open, nothing applied
        screen.query_one("#temperature").value = ""
        screen.query_one("#system").value = "Answer in French."
        screen.query_one("#max_tokens").value = "5"
        screen.query_one("#think_budget").value = "0"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChatSettingsScreen))
        assert app.session.system == "Answer in French."
        assert app.session.params.max_tokens == 5 and app.session.params.think_budget == 0
        assert app.query_one(StatusBar).budget == "no thinking"
        app.query_one("#prompt").load_text("Name a colour.")
        app.query_one("#prompt").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.streaming is None and app.query(ReplyView))
        chat = app.conversation_id
        reply = store.messages(chat)[-1]
        assert reply.params["max_tokens"] == 5 and reply.figures["answer_tokens"] <= 5
        assert chat_settings(store, chat) == {
            "system": "Answer in French.",
            "max_tokens": 5,
            "think_budget": 0,
        }
        await pilot.press("ctrl+n")  # a new chat has none of them
        await wait_for(pilot, lambda: app.conversation_id is None)
        assert app.session.system is None
        assert app.session.params.max_tokens == registry["max_tokens"]
    store.close()

    app2, _ = make_app(tmp_path, smollm2_path)  # reopened after a restart
    async with app2.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app2.session is not None)
        await pilot.click(ConversationItem)
        await wait_for(pilot, lambda: app2.conversation_id == chat)
        assert app2.session.system == "Answer in French."
        assert app2.session.params.max_tokens == 5
        assert app2.query_one(StatusBar).budget == "no thinking"
