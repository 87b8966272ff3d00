"""The message box: Enter sends, Shift+Enter or Ctrl+J starts a new line, Up edits."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea


class PromptInput(TextArea):
    DEFAULT_CSS = """
    PromptInput { height: auto; max-height: 10; min-height: 3; border: round $accent; }
    """
    # Focus starts here, so the app's keys that TextArea also binds (Ctrl+E: line end,
    # Ctrl+Y: redo) must reach the app from here; End and Super+Y still do those.
    BINDINGS = [
        Binding("ctrl+e", "app.hide_thinking", "Hide thinking", show=False),
        Binding("ctrl+y", "app.copy_answer", "Copy answer", show=False),
    ]

    @dataclass
    class Submitted(Message):
        text: str

    class EditLast(Message):
        """Up in an empty box: the user wants the last question back to edit."""

    def __init__(self) -> None:
        super().__init__(id="prompt", soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.placeholder = "Ask anything · Enter sends · Shift+Enter or Ctrl+J for a new line"

    async def _on_key(self, event: events.Key) -> None:
        if event.key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if text:
                self.post_message(self.Submitted(text))
                self.clear()
            return
        if event.key == "up" and not self.text:
            event.stop()
            event.prevent_default()
            self.post_message(self.EditLast())
            return
        await super()._on_key(event)
