"""F1: every key binding of the chat."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        width = max(len(k) for k, _ in self.rows) + 2
        lines = ["[b]Keys[/b]", ""] + [f"[b]{k:<{width}}[/b]{d}" for k, d in self.rows]
        lines += ["", "Every action is also in the command palette (Ctrl+P).", "Esc closes."]
        with VerticalScroll():
            yield Static("\n".join(lines))
