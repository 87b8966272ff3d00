"""F1: every key binding of the chat."""

from __future__ import annotations

from rich.table import Table
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
        keys = Table.grid(padding=(0, 2))  # a wrapped description stays in its column
        keys.add_column(style="bold", no_wrap=True)
        keys.add_column()
        for key, description in self.rows:
            keys.add_row(key, description)
        with VerticalScroll():
            yield Static("[b]Keys[/b]\n")
            yield Static(keys)
            yield Static("\nEvery action is also in the command palette (Ctrl+P). Esc closes.")
