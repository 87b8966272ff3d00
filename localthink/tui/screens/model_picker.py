"""Ctrl+O: choose a local model; shows size, quant and whether it fits in memory."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from localthink.models.fit import fits
from localthink.models.resolve import LocalModel


def model_row(m: LocalModel, current: str) -> str:
    size = m.size_bytes / 2**30
    quant = m.quant or "?"
    fit = "fits" if fits(m.size_bytes) else "too big for free RAM"
    mark = "● " if m.name == current else "  "
    return f"{mark}{m.name:<32} {size:6.2f} GB  {quant:<7} {fit}"


class ModelPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, models: list[LocalModel], current: str) -> None:
        super().__init__()
        self.models = models
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Switch model[/b]  (Enter loads · Esc cancels)")
            if not self.models:
                yield Static("No local models. Run `localthink pull qwen3-0.6b` in a shell.")
            yield OptionList(
                *[Option(model_row(m, self.current), id=str(m.path)) for m in self.models]
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
