"""Edit and resend (issue 19, part 2), Pilot on real llama.cpp with SmolLM2."""

from __future__ import annotations

from localthink.store.edits import earlier_versions
from localthink.tui.screens.versions import VersionsScreen
from localthink.tui.widgets.messages import UserMessage
from localthink.tui.widgets.reply import ReplyView
from tests.tui.test_app_real_model import make_app, wait_for


def replies_done(app, n):
    return lambda: app.streaming is None and len(app.query(ReplyView)) == n


async def type_and_send(pilot, app, text):
    prompt = app.query_one("#prompt")
    prompt.load_text(text)
    prompt.focus()
    await pilot.press("enter")


async def test_up_edits_the_last_question_and_resend_keeps_the_old_reply(tmp_path, smollm2_path):
    app, store = make_app(tmp_path, smollm2_path, max_tokens=8)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await type_and_send(pilot, app, "Name a colour.")
        await wait_for(pilot, replies_done(app, 1))
        await type_and_send(pilot, app, "Name a fruit.")
        await wait_for(pilot, replies_done(app, 2))
        old = store.messages(app.conversation_id)
        prompt = app.query_one("#prompt")
        await pilot.press("up")  # in the empty box: the last question comes back
        assert prompt.text == "Name a fruit." and "Enter resends" in prompt.border_title
        prompt.load_text("Name a vegetable.")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                replies_done(app, 2)()
                and app.query(ReplyView)[-1].done
                and app.query(UserMessage)[-1].text == "Name a vegetable."
            ),
        )
        rows = store.messages(app.conversation_id)
        assert [r.content for r in rows if r.role == "user"] == [
            "Name a colour.",
            "Name a vegetable.",
        ]
        assert rows[:2] == old[:2] and len(rows) == 4 and len(app.query(ReplyView)) == 2
        assert [t.user for t in app.session.turns] == ["Name a colour.", "Name a vegetable."]
        [version] = earlier_versions(store, rows[2].id)  # the old turn, kept
        assert version.question.content == "Name a fruit."
        assert [r.id for r in version.replies] == [old[3].id]
        edited = app.query(UserMessage)[-1]
        assert "1 earlier version" in str(edited.render())
        edited.focus()
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen))
        shown = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Name a fruit." in shown and old[3].content in shown
        await pilot.press("escape")
        assert prompt.border_title is None


async def test_editing_an_earlier_question_forks_a_new_chat(tmp_path, smollm2_path):
    app, store = make_app(tmp_path, smollm2_path, max_tokens=8)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None)
        await type_and_send(pilot, app, "Name a colour.")
        await wait_for(pilot, replies_done(app, 1))
        await type_and_send(pilot, app, "Name a fruit.")
        await wait_for(pilot, replies_done(app, 2))
        original = app.conversation_id
        before = store.messages(original)
        app.query(UserMessage)[0].focus()
        await pilot.press("e")
        prompt = app.query_one("#prompt")
        assert prompt.text == "Name a colour." and app.focused is prompt
        assert "new chat" in prompt.border_title
        prompt.load_text("Name a shape.")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.conversation_id != original)
        await wait_for(pilot, replies_done(app, 1))
        fork = store.conversation(app.conversation_id)
        assert fork.title == f"{store.conversation(original).title} (edited)"
        assert [m.content for m in store.messages(fork.id) if m.role == "user"] == ["Name a shape."]
        assert [t.user for t in app.session.turns] == ["Name a shape."]
        assert store.messages(original) == before  # the original is untouched
        titles = [c.title for c in store.conversations()]
        assert fork.title in titles and store.conversation(original).title in titles
