"""A full layout arranges the chat once, even after a scroll (tui/screen.py)."""

from __future__ import annotations

from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from localthink.tui.screen import ChatScreen
from localthink.tui.widgets.chat_log import ChatLog
from localthink.tui.widgets.live_text import STEP, LiveText


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
