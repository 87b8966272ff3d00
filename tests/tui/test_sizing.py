"""A widget of a growing reply is laid out once per growth, not twice (sizing.py)."""

from __future__ import annotations

import inspect

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from localthink.tui.widgets.live_text import STEP, LiveText


class GrowApp(App):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("plain", id="plain")
            yield LiveText(id="live")


async def _layouts(pilot, change) -> int:
    """Layouts of the screen from `change` until the app is idle again."""
    await pilot.pause()
    count = []
    pilot.app.screen.screen_layout_refresh_signal.subscribe(pilot.app, count.append)
    try:
        pending = change()
        if inspect.isawaitable(pending):
            await pending
        for _ in range(5):
            await pilot.pause(0.05)
    finally:
        pilot.app.screen.screen_layout_refresh_signal.unsubscribe(pilot.app)
    return len(count)


async def test_growing_text_takes_one_layout_where_textual_takes_two():
    app = GrowApp()
    async with app.run_test(size=(60, 80)) as pilot:  # no scrollbar comes to narrow it
        plain, live = app.query_one("#plain", Static), app.query_one(LiveText)
        # Textual's own: the layout that resizes a widget sets its virtual size, which asks
        # for a second layout (the behaviour this works around; if Textual stops doing it,
        # sizing.py can go)
        assert await _layouts(pilot, lambda: plain.update("grown\n" * 4)) == 2
        assert await _layouts(pilot, lambda: live.set_text("grown\n" * 4)) == 1
        assert await _layouts(pilot, lambda: live.set_text("grown\n" * 40)) == 1


class ThinkingApp(App):
    def compose(self) -> ComposeResult:
        from localthink.tui.widgets.reply import ThinkingBlock

        with VerticalScroll():
            yield ThinkingBlock("Seventeen times twenty-three", title="Thinking… 8 s")


async def test_the_thinking_timer_ticks_without_laying_out_the_screen():
    """Once a second for as long as the model thinks."""
    from localthink.tui.widgets.reply import ThinkingBlock

    app = ThinkingApp()
    async with app.run_test(size=(60, 20)) as pilot:
        block = app.query_one(ThinkingBlock)

        def tick(title: str):
            return lambda: setattr(block, "title", title)

        assert await _layouts(pilot, tick("Thinking… 9 s")) == 0  # as wide: a repaint
        assert "Thinking… 9 s" in str(block._title.render())
        assert await _layouts(pilot, tick("Thinking… 10 s")) == 1  # one column more
        assert await _layouts(pilot, tick("Thought for 10.2 s · 180 tokens")) == 1


# pieces of a growing text: words, a line too long to wrap at a space, blank lines, wide
# characters and tabs
WORDS = ["a", "bicycle", "stays", "upright", "—", "x" * 70, "\n", "\n\n", "émoji 🚲", "\t"]


class PieceApp(App):
    def compose(self) -> ComposeResult:
        from localthink.tui.widgets.sizing import TextPiece

        with VerticalScroll():
            yield TextPiece("", markup=False)


async def test_a_growing_piece_measures_its_rows_as_textual_does():
    """TextPiece measures the finished lines of a growing text once; its row count must stay
    the one Textual lays the whole text out to, as text grows, shrinks, is replaced, and
    the width changes."""
    import random

    from localthink.tui.widgets.sizing import TextPiece

    rng = random.Random(7)
    app = PieceApp()
    async with app.run_test(size=(50, 30)) as pilot:
        piece = app.query_one(TextPiece)
        await pilot.pause()
        text, shown, rows = "", "", 0
        for step in range(400):
            if step % 97 == 96:  # replaced by another text (a freeze moved its start)
                text = text[len(text) // 2 :]
            elif step % 89 == 88:  # replaced by a longer one that does not start with it
                text = "word " * 30 + "\n" + text
            elif step % 131 == 130:  # the width changes
                piece.styles.width = rng.choice([20, 33, 46])
                await pilot.pause()
            text += rng.choice(WORDS) + rng.choice(["", " "])
            rows = piece.show_grown(text, shown, rows)
            shown = text
            width = piece.content_region.width
            assert rows == piece.visual.get_height(piece.styles, width), (step, width)


async def test_a_growing_piece_draws_the_lines_textual_draws():
    """TextPiece wraps only the lines after the finished ones it drew last; what it draws
    must stay what Textual draws of the whole text, as text grows, is replaced, the width
    or the style changes, and a few rows are reserved below it or cut off."""
    import random

    from textual.geometry import Region
    from textual.widget import Widget

    from localthink.tui.widgets.sizing import TextPiece

    def drawn(piece, render) -> list:  # Textual's own, from scratch
        render(piece)
        return list(piece._render_cache.lines)

    rng = random.Random(11)
    app = PieceApp()
    async with app.run_test(size=(50, 30)) as pilot:
        piece = app.query_one(TextPiece)
        await pilot.pause()
        text, shown, rows, reused = "", "", 0, 0
        for step in range(300):
            if step % 97 == 96:  # replaced by another text (a freeze moved its start)
                text = text[len(text) // 2 :]
            elif step % 53 == 52:  # the width, the height reserved, or the colour change
                piece.styles.width = rng.choice([20, 33, 46])
                piece.styles.height = rng.choice(["auto", rows + 3, max(1, rows - 2)])
                piece.styles.color = rng.choice(["red", "green"])
                await pilot.pause()
                shown, rows = "", 0  # laid out again: drawn whole, as LiveText does then
            text += rng.choice(WORDS) + rng.choice(["", " "])
            rows = piece.show_grown(text, shown, rows)
            shown = text
            kept = piece._rendered[1] if piece._rendered else ""
            piece.render_lines(Region(0, 0, *piece.size))  # as a frame draws it
            ours = list(piece._render_cache.lines)
            reused += bool(kept) and piece._rendered[1].startswith(kept)
            assert ours == drawn(piece, Widget._render_content), step
        assert reused > 150  # most frames drew only the lines after the finished ones


class ChatLogApp(App):
    def compose(self) -> ComposeResult:
        from localthink.tui.widgets.chat_log import ChatLog

        with ChatLog():
            yield Static("a question")


async def test_text_that_comes_before_the_first_layout_takes_no_second_one():
    """A reply's first tokens reach its LiveText before the layout that mounts it; the rows
    held for them come with that layout, not with one more as the reply starts (nor one
    more for the chat log's new height)."""
    from localthink.tui.widgets.chat_log import ChatLog

    app = ChatLogApp()
    async with app.run_test(size=(60, 40)) as pilot:
        scroll = app.query_one(ChatLog)
        fresh = LiveText(id="fresh")

        async def mount_and_stream() -> None:
            with app.batch_update():  # as the app mounts a turn
                await scroll.mount(fresh)
            fresh.set_text("The first words of a reply")  # before the layout that comes

        assert await _layouts(pilot, mount_and_stream) == 1
        assert str(fresh.live.content) == "The first words of a reply"
        assert fresh.size.height == fresh.reserved > 0
        assert not fresh.set_text("The first words of a reply, and more")  # a repaint


class FullLogApp(App):
    def compose(self) -> ComposeResult:
        from localthink.tui.widgets.chat_log import ChatLog

        with ChatLog():
            yield Static("an earlier turn\n" * 60)
            yield LiveText(id="live")


async def test_a_reply_growing_in_a_full_chat_lays_the_screen_out_once(monkeypatch):
    """In a chat taller than the screen, each growth changes the log's own height too; that
    must not ask for a second layout of the whole screen (only the scroll that follows)."""
    from textual.screen import Screen

    full = []
    layout = Screen._refresh_layout

    def counted(screen, size=None, scroll=False):
        full.append(not scroll)
        return layout(screen, size, scroll)

    app = FullLogApp()
    async with app.run_test(size=(60, 30)) as pilot:
        live = app.query_one(LiveText)
        await _layouts(pilot, lambda: live.set_text("a\n"))
        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        text = "a\n"
        for _ in range(3):
            text += "line\n" * (STEP + 1)
            full.clear()
            await _layouts(pilot, lambda: live.set_text(text))  # noqa: B023
            assert full.count(True) == 1, full


async def test_a_new_turn_asks_for_no_second_layout_as_it_is_laid_out(monkeypatch):
    """Mounted, a widget's size changes in the layout that mounts it, and a Textual widget
    then asks for a layout of its own (its virtual size): a question and its reply must
    not (in a chat of 30 turns that second layout took ~100 ms at every question)."""
    from textual.screen import Screen
    from textual.widget import Widget

    from localthink.tui.widgets.chat_log import ChatLog
    from localthink.tui.widgets.messages import UserMessage
    from localthink.tui.widgets.reply import ReplyView
    from localthink.tui.widgets.sidebar import ConversationItem

    asked, in_layout = [], [False]
    layout, refresh = Screen._refresh_layout, Widget.refresh

    def laying_out(screen, *args, **kwargs):
        in_layout[0] = True
        try:
            return layout(screen, *args, **kwargs)
        finally:
            in_layout[0] = False

    def spy(widget, *regions, layout=False, **kwargs):
        if layout and in_layout[0]:
            asked.append(type(widget).__name__)
        return refresh(widget, *regions, layout=layout, **kwargs)

    app = FullLogApp()
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        log = app.query_one(ChatLog)
        monkeypatch.setattr(Screen, "_refresh_layout", laying_out)
        monkeypatch.setattr(Widget, "refresh", spy)
        with app.batch_update():  # as the app mounts a turn
            await log.mount_all([UserMessage("Why?"), ReplyView()])
        await pilot.pause(0.1)
        assert app.query_one(UserMessage).size.height > 0
        assert app.query_one(ReplyView).figures.size.width > 0
        # and a chat new to the list
        from localthink.store.db import Conversation

        await log.mount(ConversationItem(Conversation(1, "A new chat", "m", 0.0, 0.0)))
        await pilot.pause(0.1)
    assert asked == []
