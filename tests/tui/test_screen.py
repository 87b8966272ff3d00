"""A full layout arranges the chat once, even after a scroll (tui/screen.py)."""

from __future__ import annotations

from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import Static

from localthink.tui.screen import ChatScreen, MapKeepingCompositor
from localthink.tui.widgets.chat_log import ChatLog
from localthink.tui.widgets.live_text import STEP, LiveText
from localthink.tui.widgets.messages import UserMessage


class LongChatApp(App):
    """A chat of many turns (taller than the screen), a reply growing at its end."""

    def __init__(self, screen_class: type[Screen]) -> None:
        super().__init__()
        self.screen_class = screen_class

    def get_default_screen(self) -> Screen:
        return self.screen_class(id="_default")

    def compose(self) -> ComposeResult:
        with ChatLog():
            for i in range(60):
                yield Static(f"earlier turn {i}\n" * 3)
            yield Static("", id="hidden")
            yield LiveText(id="live")

    def on_mount(self) -> None:
        self.query_one("#hidden").display = False


async def _arrangements_per_growth(screen_class: type[Screen], monkeypatch) -> list[int]:
    """Whole-screen arrangements at each of three growths of the reply, each after the
    scroll that follows the one before."""
    arranged = []
    arrange_root = Compositor._arrange_root

    def counted(compositor, root, size, visible_only=True):
        if not visible_only:
            arranged.append(1)
        return arrange_root(compositor, root, size, visible_only)

    app = LongChatApp(screen_class)
    per_growth = []
    async with app.run_test(size=(60, 30)) as pilot:
        live = app.query_one(LiveText)
        live.set_text("a\n")
        await pilot.pause(0.1)
        monkeypatch.setattr(Compositor, "_arrange_root", counted)
        text = "a\n"
        for _ in range(3):
            text += "line\n" * (STEP + 1)
            arranged.clear()
            live.set_text(text)
            for _ in range(4):
                await pilot.pause(0.05)
            assert app.query_one(ChatLog).scroll_y > 0  # it followed the reply: a scroll
            per_growth.append(len(arranged))
        # a hidden widget's update after that scroll: its layout arranges the screen once;
        # looking for the widget first must not arrange it again
        arranged.clear()
        app.query_one("#hidden", Static).update("a note")
        await pilot.pause(0.1)
        per_growth.append(len(arranged))
    return per_growth


async def test_a_growth_after_a_scroll_arranges_the_chat_once(monkeypatch):
    assert await _arrangements_per_growth(ChatScreen, monkeypatch) == [1, 1, 1, 1]


async def test_textual_s_own_screen_arranges_it_twice(monkeypatch):
    """The behaviour screen.py works around: if Textual stops doing it, screen.py can go."""
    assert await _arrangements_per_growth(Screen, monkeypatch) == [2, 2, 2, 2]


async def test_the_chat_app_uses_the_chat_screen(tmp_path):
    from localthink.store.db import Store
    from localthink.tui.app import ChatApp

    app = ChatApp(opener=lambda spec: None, store=Store(tmp_path / "c.db"))
    assert isinstance(app.get_default_screen(), ChatScreen)


def _no_model(spec):
    from localthink.errors import LocalthinkError

    raise LocalthinkError("no model in this test")


async def _chat_on_screen(tmp_path, pilot_body) -> None:
    """The chat app showing a stored chat of 12 turns (taller than its screen)."""
    from localthink.store.db import Store
    from localthink.tui.app import ChatApp

    store = Store(tmp_path / "c.db")
    conv = store.new_conversation("bicycles", "m")
    for i in range(12):
        store.add_message(conv.id, "user", f"Question {i}: why does a bicycle stay up?")
        store.add_message(
            conv.id, "assistant", "It **keeps moving**:\n\n- trail\n- speed\n\n`done`", model="m"
        )
    app = ChatApp(opener=_no_model, store=store)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.show_conversation(conv.id)
        await pilot.pause(0.2)
        await pilot_body(app, pilot)


async def test_a_partial_update_draws_what_textual_draws(tmp_path):
    """For any region to update, the lines drawn are Textual's own, strip by strip."""
    import functools
    import itertools
    import random

    async def body(app, pilot):
        compositor = app.screen._compositor
        assert isinstance(compositor, MapKeepingCompositor)
        size = compositor.size
        rng = random.Random(7)
        for _ in range(60):
            x, y = rng.randrange(size.width), rng.randrange(size.height)
            crop = Region(x, y, rng.randint(1, size.width - x), rng.randint(1, size.height - y))
            drawn = crop.line_range.__contains__
            ours = compositor._render_chops(crop, drawn)
            compositor._get_renders = functools.partial(Compositor._get_renders, compositor)
            try:
                textual_s = compositor._render_chops(crop, drawn)
            finally:
                del compositor._get_renders
            for line in crop.line_range:
                # the cuts of the line under the region: the update draws those (outside
                # them Textual leaves cuts of widgets not overlapping the region unfilled)
                cuts = compositor.cuts[line]
                under = [a for a, b in itertools.pairwise(cuts) if a < crop.right and b > crop.x]
                theirs = {cut: list(textual_s[line][cut]) for cut in under}
                mine = {cut: list(ours[line][cut]) for cut in under}
                assert mine == theirs, (crop, line)

    await _chat_on_screen(tmp_path, body)


async def test_an_update_of_scattered_regions_writes_what_textual_writes(tmp_path):
    """After a layout the regions to draw lie apart (a chat in the list, the reply, the
    prompt): each widget renders only the rows it has under them, and what goes to the
    terminal must be Textual's own, byte for byte."""
    import functools
    import random

    async def body(app, pilot):
        compositor = app.screen._compositor
        size = compositor.size
        rng = random.Random(3)

        def written(regions, textual: bool) -> str:
            compositor._dirty_regions = set(regions)
            if textual:
                compositor._get_renders = functools.partial(Compositor._get_renders, compositor)
            try:
                return compositor.render_partial_update().render_segments(app.console)
            finally:
                compositor.__dict__.pop("_get_renders", None)

        for _ in range(40):
            regions = []
            for _ in range(rng.randint(1, 4)):
                x, y = rng.randrange(size.width), rng.randrange(size.height)
                w, h = rng.randint(1, size.width - x), rng.randint(1, min(4, size.height - y))
                regions.append(Region(x, y, w, h))
            assert written(regions, textual=False) == written(regions, textual=True), regions

    await _chat_on_screen(tmp_path, body)


async def test_a_partial_update_renders_only_its_rows(tmp_path, monkeypatch):
    """A frame of a streaming reply updates a row or two; each widget under them gives those
    rows, rendered where they changed and else as its cache holds them (Textual rendered
    every row of each widget in those rows: the chat list, the log, the screen)."""
    from textual.widget import Widget

    from localthink.tui.widgets.sidebar import Sidebar

    rendered, kept = [], []
    render_lines = Widget.render_lines
    kept_lines = MapKeepingCompositor._kept_lines

    def counted(widget, crop):
        rendered.append((widget, crop.height))
        return render_lines(widget, crop)

    def looked_up(widget, crop):
        lines = kept_lines(widget, crop)
        kept.extend([(widget, crop.height)] if lines is not None else [])
        return lines

    async def body(app, pilot):
        log = app.query_one(ChatLog)
        row = log.region.y + 3
        [message] = [m for m in app.query(UserMessage) if m.region.y <= row < m.region.bottom]
        message.refresh()  # its lines must be rendered again; the others' are as they were
        monkeypatch.setattr(Widget, "render_lines", counted)
        monkeypatch.setattr(MapKeepingCompositor, "_kept_lines", staticmethod(looked_up))
        app.screen._compositor._dirty_regions.add(Region(log.region.x, row, 20, 1))
        app.screen._compositor_refresh()
        monkeypatch.undo()
        assert [w for w, _ in rendered] == [message]  # the rest from their caches
        assert app.screen in [w for w, _ in kept] and log in [w for w, _ in kept]
        assert max(rows for _, rows in rendered + kept) == 1, (rendered, kept)
        # the chat list beside the log renders nothing (Textual's screen does: it spans it)
        drawn = [w for w, _ in rendered + kept]
        beside = [w for w in drawn if isinstance(w, Sidebar)]
        beside += [w for w in drawn if any(isinstance(a, Sidebar) for a in w.ancestors)]
        assert not beside

    await _chat_on_screen(tmp_path, body)


async def test_a_chat_put_at_the_top_of_the_list_draws_the_items_not_the_list(
    tmp_path, monkeypatch
):
    """A question in a new chat puts it at the top of the list and highlights it: the items
    that came or moved are drawn, and the list's own rows (its background) are not."""
    from textual.widget import Widget

    from localthink.store.db import Store
    from localthink.tui.app import ChatApp
    from localthink.tui.widgets.sidebar import ChatList
    from tests.scripted_engine import ANSWER, ScriptedEngine, scripted_opener

    store = Store(tmp_path / "c.db")
    for title in ("rivers", "bicycles"):
        store.new_conversation(title, "m")
    app = ChatApp(opener=scripted_opener(ScriptedEngine(ANSWER)), store=store)
    rows: list[int] = []
    render_lines = Widget.render_lines

    def counted(widget, crop):
        if isinstance(widget, ChatList):
            rows.append(crop.height)
        return render_lines(widget, crop)

    async with app.run_test(size=(100, 30)) as pilot:
        while app.session is None:
            await pilot.pause(0.02)
        await pilot.pause(0.2)
        monkeypatch.setattr(Widget, "render_lines", counted)
        app.query_one("#prompt").load_text("What is 17 × 23?")
        await pilot.press("enter")
        while app.streaming is not None:
            await pilot.pause(0.02)
        await pilot.pause(0.2)
        items = list(app.query_one(ChatList).children)
        assert len(items) == 3 and items[0].conversation.title == "What is 17 × 23?"
        assert app.query_one(ChatList).index == 0
        assert rows == []


async def _frames_per_growth(screen_class: type[Screen], monkeypatch) -> list[int]:
    """Frames drawn at each of three growths of a reply at the end of a long chat (each
    followed by the log's scroll), checking that the last line shows after each."""
    frames = []
    render_update = Compositor.render_update

    def counted(compositor, *args, **kwargs):
        frames.append(1)
        return render_update(compositor, *args, **kwargs)

    app = LongChatApp(screen_class)
    per_growth = []
    async with app.run_test(size=(60, 30)) as pilot:
        live, log = app.query_one(LiveText), app.query_one(ChatLog)
        live.set_text("a\n")
        await pilot.pause(0.1)
        monkeypatch.setattr(Compositor, "render_update", counted)
        text = "a\n"
        for i in range(3):
            text += "line\n" * (STEP + 1) + f"end of growth {i}\n"
            frames.clear()
            live.set_text(text)
            for _ in range(4):
                await pilot.pause(0.05)
            per_growth.append(len(frames))
            assert log.scroll_y == log.max_scroll_y > 0
            shown = [strip.text for strip in app.screen._compositor.render_strips()]
            assert any(f"end of growth {i}" in line for line in shown), shown
    return per_growth


async def test_a_growth_followed_by_the_log_draws_one_frame(monkeypatch):
    assert await _frames_per_growth(ChatScreen, monkeypatch) == [1, 1, 1]


async def test_textual_s_own_screen_draws_two(monkeypatch):
    """The first at the old scroll position: the behaviour screen.py leaves out."""
    assert await _frames_per_growth(Screen, monkeypatch) == [2, 2, 2]


class Terminal:
    """What a terminal shows: each update the app writes, applied cell by cell."""

    def __init__(self, app) -> None:
        self.app = app
        self.cells: list[list] = []
        self.frames = 0

    @classmethod
    def watching(cls, app, monkeypatch) -> Terminal:
        """A terminal fed every update `app` writes from now on."""
        terminal = cls(app)
        display = type(app)._display

        def shown(self, screen, update) -> None:
            terminal.write(update)
            display(self, screen, update)

        monkeypatch.setattr(type(app), "_display", shown)
        return terminal

    def write(self, update) -> None:
        from rich.segment import ControlType

        if update is None or self.app._batch_count:  # Textual writes nothing then either
            return
        width, height = self.app.size
        if len(self.cells) != height or len(self.cells[0]) != width:
            self.cells = [[None] * width for _ in range(height)]
        self.frames += 1
        x = y = 0
        for segment in update.__rich_console__(self.app.console, self.app.console.options):
            if segment.control:
                for code in segment.control:
                    if code[0] == ControlType.CURSOR_MOVE_TO:
                        x, y = code[1], code[2]
            elif segment.text == "\n":
                x, y = 0, y + 1
            else:
                style = segment.style.clear_meta_and_links() if segment.style else None
                row = self.cells[y] if 0 <= y < len(self.cells) else []
                for i, char in enumerate(segment.text):
                    if 0 <= x + i < len(row):
                        row[x + i] = (char, style)
                x += len(segment.text)

    def stale_rows(self) -> list[int]:
        """Rows where the terminal differs from the screen rendered afresh."""
        stale = []
        for y, strip in enumerate(self.app.screen._compositor.render_strips()):
            line = [
                (char, segment.style.clear_meta_and_links() if segment.style else None)
                for segment in strip
                for char in segment.text
            ]
            if line != self.cells[y][: len(line)]:
                stale.append(y)
        return stale


async def test_the_terminal_shows_what_the_screen_holds(tmp_path, monkeypatch):
    """Frames draw only what changed (screen.py, the log's own refresh, the reply's
    pieces): after each step a user takes, what was written to the terminal, applied cell
    by cell, must be the screen as rendered from scratch."""
    from localthink.store.db import Store
    from localthink.tui.app import ChatApp
    from localthink.tui.widgets.reply import ReplyView
    from tests.scripted_engine import ANSWER, THINK, ScriptedEngine, scripted_opener

    engine = ScriptedEngine(THINK, pause_at=len(THINK) + 3, piece_seconds=0.03)
    app = ChatApp(opener=scripted_opener(engine), store=Store(tmp_path / "c.db"))
    terminal = Terminal.watching(app, monkeypatch)

    async def settled() -> list[int]:
        for _ in range(8):
            await pilot.pause(0.05)
        return terminal.stale_rows()

    async with app.run_test(size=(90, 24)) as pilot:
        while app.session is None:
            await pilot.pause(0.02)
        assert await settled() == []
        # a short reply in a new chat (it gives back the empty rows it held), then two
        # taller than the log
        for question, answer in (("What is 17 × 23?", 1), ("And 17 × 24?", 6), ("Again?", 6)):
            engine.pieces = THINK + ANSWER * answer
            engine.pause_at = len(THINK) + 3 * answer  # after frames of the answer's text
            app.query_one("#prompt").load_text(question)
            await pilot.press("enter")
            while not engine.paused.is_set():
                await pilot.pause(0.02)
            assert await settled() == [], question  # mid-reply
            engine.paused.clear()
            engine.resume.set()
            while app.streaming is not None:
                await pilot.pause(0.02)
            assert await settled() == [], question  # the reply ended, taller than the log
            engine.resume.clear()
        assert len(app.query(ReplyView)) == 3
        await pilot.press("ctrl+n")  # a new chat, then the first one again
        assert await settled() == []
        first = app.store.conversations()[0].id
        await app.show_conversation(first)
        assert await settled() == []
        # the chat list: a second chat goes to the top, the first is highlighted again,
        # a question moves it back to the top, and it is deleted
        engine.pause_at = None
        engine.pieces = ANSWER
        for step in ("new chat", "the first chat", "a question in it"):
            if step == "new chat":
                await pilot.press("ctrl+n")
            if step == "the first chat":
                await app.show_conversation(first)
            else:
                app.query_one("#prompt").load_text(step)
                await pilot.press("enter")
                while app.streaming is not None:
                    await pilot.pause(0.02)
            assert await settled() == [], step
        assert app.store.conversations()[0].id == first
        await app.run_action("delete_chat")
        assert await settled() == [] and len(app.store.conversations()) == 1
        assert terminal.frames > 20


class GrowingTextApp(App):
    """A short chat: a question, a reply's text given its rows, a line under it."""

    def get_default_screen(self) -> Screen:
        return ChatScreen(id="_default")

    def compose(self) -> ComposeResult:
        from localthink.tui.widgets.sizing import TextPiece

        with ChatLog():
            yield Static("a question", id="question")
            yield TextPiece("", id="text")
            yield Static("figures", id="below")


async def test_a_text_the_layout_resized_is_not_drawn_whole_again_at_its_next_frame(
    monkeypatch,
):
    """A layout draws each widget it resized; Textual also marks it to be drawn whole at
    its next frame, which for a streaming reply's text (resized as the reply begins, and
    when it outgrows its rows) drew all of its rows again for the one it grew by. What the
    terminal shows must still be the screen rendered afresh."""
    from localthink.tui.widgets.sizing import TextPiece

    app = GrowingTextApp()
    terminal = Terminal.watching(app, monkeypatch)
    drawn: list[tuple[bool, int]] = []  # each update: in a layout, rows drawn
    laying_out = [False]
    render_partial_update = MapKeepingCompositor.render_partial_update
    refresh_layout = ChatScreen._refresh_layout

    def counted(compositor):
        rows = len({y for r in compositor._dirty_regions for y in r.line_range})
        drawn.append((laying_out[0], rows))
        return render_partial_update(compositor)

    def layout(screen, *args, **kwargs):
        laying_out[0] = True
        try:
            refresh_layout(screen, *args, **kwargs)
        finally:
            laying_out[0] = False

    monkeypatch.setattr(MapKeepingCompositor, "render_partial_update", counted)
    monkeypatch.setattr(ChatScreen, "_refresh_layout", layout)
    async with app.run_test(size=(50, 30)) as pilot:
        await pilot.pause(0.1)
        text_piece = app.query_one(TextPiece)
        lines: list[str] = []
        shown_rows = 0
        for rows in (6, 12, 18):  # as a reply does: rows held (a layout), text grows in them
            drawn.clear()
            text_piece.styles.height = rows
            for _ in range(3):
                await pilot.pause(0.05)
            assert any(in_layout and n >= rows for in_layout, n in drawn), drawn
            assert all(n <= 2 for in_layout, n in drawn if not in_layout), (rows, drawn)
            for i in range(3):
                before = "\n".join(lines)
                lines.append(f"line {rows}.{i}")
                drawn.clear()
                shown_rows = text_piece.show_grown("\n".join(lines), before, shown_rows)
                for _ in range(2):
                    await pilot.pause(0.05)
                assert drawn and max(n for _, n in drawn) <= 2, (rows, i, drawn)
                assert terminal.stale_rows() == [], (rows, i)
        text_piece.styles.height = "auto"  # the reply ended: its own height
        for _ in range(3):
            await pilot.pause(0.05)
        assert text_piece.region.height == len(lines)
        assert terminal.stale_rows() == []
