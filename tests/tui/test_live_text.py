"""Streamed text reserves its rows in steps, so most frames repaint it without a layout."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from localthink.tui.widgets.live_text import STEP, LiveText


class LiveApp(App):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield LiveText(id="live")


async def test_rows_are_reserved_in_steps_and_given_back_when_settled():
    app = LiveApp()
    async with app.run_test(size=(40, 30)) as pilot:
        await pilot.pause()
        live, scroll = app.query_one(LiveText), app.query_one(VerticalScroll)
        laid_out, text = [], ""
        for i in range(40):  # 40 short lines, one a frame
            text += f"line {i}\n" if i < 39 else f"line {i}"
            laid_out.append(live.set_text(text))
            await pilot.pause()
            assert live.size.height >= i + 1
            if i < 29:  # the text fits the screen: it grew into the empty rows it took
                assert live.reserved == 30 and scroll.max_scroll_y == 0
            else:  # then by STEP rows
                assert live.reserved % STEP == 0 and live.reserved - (i + 2) < STEP
        # the first frame took the 30 empty rows, without scrolling; then a layout per STEP
        assert [i for i, took in enumerate(laid_out) if took] == [0, 29, 29 + STEP]
        assert live.reserved == live.size.height == 30 + 2 * STEP
        live.settle()
        await pilot.pause()
        assert live.reserved == 0 and live.size.height == 40


async def test_a_frame_repaints_only_the_rows_the_text_grew_into(monkeypatch):
    """A Static's update repaints all of its rows, and each row again every widget behind
    it: a frame would cost in proportion to the rows reserved."""
    from textual.widgets import Static

    repainted = []
    refresh = Static.refresh

    def spy(self, *regions, **kwargs):
        repainted.append([(r.y, r.height) for r in regions] or "all")
        return refresh(self, *regions, **kwargs)

    app = LiveApp()
    async with app.run_test(size=(40, 30)) as pilot:
        await pilot.pause()
        live = app.query_one(LiveText)
        live.set_text("line 0\nline 1")  # the first frame lays out, measuring the width
        await pilot.pause()
        monkeypatch.setattr(Static, "refresh", spy)
        assert not live.set_text("line 0\nline 1 grows")  # no layout: a repaint
        assert not live.set_text("line 0\nline 1 grows\nline 2\nline 3")
        assert repainted == [[(1, 1)], [(1, 3)]]  # from the last row shown, down
        assert not live.set_text("line 0 changed")  # not a continuation: all rows shown
        assert repainted[-1] == [(0, 4)]
        await pilot.pause()
        assert str(live.live.content) == "line 0 changed"


async def test_a_narrower_window_measures_again():
    app = LiveApp()
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        live = app.query_one(LiveText)
        live.set_text("word " * 40)  # 200 characters: 4 rows at 58 columns
        await pilot.pause()
        wide = live.reserved
        await pilot.resize_terminal(20, 30)
        await pilot.pause()
        assert live.reserved > wide  # 11 rows at 18 columns: a second step
        assert live.size.height == live.reserved


async def _stream(pilot, pieces):
    """Feed the app's LiveText a growing text, a frame per piece; checks after each."""
    await pilot.pause()
    live = pilot.app.query_one(LiveText)
    text = ""
    for piece in pieces:
        text += piece
        live.set_text(text)
        await pilot.pause()
        yield live


def _shown(live: LiveText) -> str:
    """The text on screen, piece by piece (a piece boundary is a line break)."""
    return "\n".join(str(piece.content) for piece in live.query_children())


async def test_finished_lines_freeze_so_a_frame_redraws_only_the_last_ones():
    from localthink.tui.widgets.live_text import FREEZE, STEP

    app = LiveApp()
    lines = [f"step {i}: the quick brown fox weighs 17 times 23 again.\n" for i in range(120)]
    text = "".join(lines)  # ~5,000 characters of thinking, a line at a time
    async with app.run_test(size=(60, 30)) as pilot:
        async for live in _stream(pilot, lines):
            # what a frame wraps stays short: freezing waits for the rows to fill (it joins
            # the layout that growing takes), and the rows taken are FREEZE's and STEP more
            assert len(live.live.content) <= FREEZE + (STEP + 1) * live.live.content_region.width
        assert len(live.query_children()) > 2 and _shown(live) == text
        live.settle()
        await pilot.pause()
        assert len(live.query_children()) == 1 and str(live.live.content) == text
        natural = live.live.visual.get_height(live.live.styles, live.live.content_region.width)
        assert live.size.height == natural >= 120  # its own height, nothing reserved


async def test_one_long_paragraph_freezes_at_spaces_and_is_joined_at_the_end():
    app = LiveApp()
    words = ["a long paragraph with no line break in it at all "] * 60
    text = "".join(words)
    async with app.run_test(size=(60, 30)) as pilot:
        async for _ in _stream(pilot, words):
            pass
        live = app.query_one(LiveText)
        pieces = [str(p.content) for p in live.query_children()]
        assert len(pieces) > 1 and "".join(pieces) == text  # cut at spaces, nothing lost
        live.settle()
        await pilot.pause()
        assert [str(p.content) for p in live.query_children()] == [text]


async def test_text_whose_start_went_elsewhere_gives_back_its_rows():
    """The answer's tail hands finished paragraphs to the Markdown: the rows they took are
    not left blank under the reply while it streams."""
    app = LiveApp()
    async with app.run_test(size=(60, 30)) as pilot:
        live = app.query_one(LiveText)
        long = "".join(f"paragraph line {i} with some words\n" for i in range(20))
        live.set_text(long)
        await pilot.pause()
        live.set_text(long)  # measured at its width now
        await pilot.pause()
        assert live.size.height >= 20
        live.set_text("the next paragraph, just begun", shrink=True)
        await pilot.pause()
        assert 1 <= live.size.height <= 6  # one reserve step, not the twenty rows before
        assert str(live.live.content) == "the next paragraph, just begun"
