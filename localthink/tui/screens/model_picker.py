"""Ctrl+O: choose a local model, or pull a curated one with a progress bar.

Local rows show size, quant and whether the model fits in memory; below them, curated
models not yet downloaded (the quant `localthink pull` would pick). Enter on one of those
pulls it in a worker thread and loads it when it is verified. Esc during a pull stops it;
the bytes already fetched stay for the next pull to resume.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from localthink.errors import LocalthinkError
from localthink.models.fit import fits
from localthink.models.registry import ModelEntry, QuantFile
from localthink.models.resolve import LocalModel


@dataclass(frozen=True)
class Pullable:
    entry: ModelEntry
    quant: QuantFile


class PullCancelled(Exception):
    pass


def gb(size_bytes: int) -> str:
    """Sizes as `localthink models` gives them: decimal GB."""
    return f"{size_bytes / 1e9:.2f} GB"


def fit_word(size_bytes: int) -> str:
    return "fits" if fits(size_bytes) else "too big"


def model_row(m: LocalModel, current: str, width: int = 24) -> str:
    mark = "● " if m.name == current else "  "
    size = gb(m.size_bytes)
    return f"{mark}{m.name:<{width}} {size:>9}  {m.quant or '?':<7} {fit_word(m.size_bytes)}"


def pull_row(p: Pullable, width: int = 24) -> str:
    size = p.quant.size_bytes
    return f"↓ {p.entry.name:<{width}} {gb(size):>9}  {p.quant.quant:<7} {fit_word(size)}"


class ModelPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, models: list[LocalModel], current: str, pullable: list[Pullable] = ()
    ) -> None:
        super().__init__()
        self.models = models
        self.current = current
        self.pullable = {f"pull:{p.entry.name}": p for p in pullable}
        self.cancelled = False
        self.pulling = False
        self.confirming: str | None = None  # the row whose pull waits for a second Enter

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Switch model[/b] · Enter loads · Esc cancels · too big: for free RAM")
            if not self.models:
                yield Static("No local models yet: pick one below to download it.")
            names = [m.name for m in self.models] + [p.entry.name for p in self.pullable.values()]
            w = max(map(len, names), default=8)
            # a model is picked by name, so the status bar and the ● name it as it is listed
            options = [Option(model_row(m, self.current, w), id=m.name) for m in self.models]
            if self.pullable:
                options.append(Option("  not downloaded (Enter asks to pull):", disabled=True))
                options += [Option(pull_row(p, w), id=key) for key, p in self.pullable.items()]
            yield OptionList(*options)
            yield Static("", id="pull-status")
            yield ProgressBar(id="pull-bar", show_eta=True)

    def on_mount(self) -> None:
        self.query_one("#pull-bar").display = False
        current = [i for i, m in enumerate(self.models) if m.name == self.current]
        if current:  # the highlight starts on the model in use
            self.query_one(OptionList).highlighted = current[0]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.pulling:
            return
        key = event.option.id or ""
        if key not in self.pullable:
            self.dismiss(key)
            return
        p = self.pullable[key]
        if self.confirming != key:  # a pull is GBs: ask first, with the size
            self.confirming = key
            self.query_one("#pull-status", Static).update(
                f"Download {p.entry.name}:{p.quant.quant} ({gb(p.quant.size_bytes)}) from"
                f" {p.entry.repo}? Enter again pulls it."
            )
            return
        self.pulling = True
        self.query_one(OptionList).disabled = True
        self.query_one("#pull-bar", ProgressBar).display = True
        self.query_one("#pull-status", Static).update(
            f"pulling {p.entry.name}:{p.quant.quant} from {p.entry.repo}…"
        )
        self.pull(p)

    @work(thread=True, exclusive=True, group="pull")
    def pull(self, p: Pullable) -> None:
        from localthink.models.hub import pull

        bar = self.query_one("#pull-bar", ProgressBar)

        def on_progress(done: int, total: int) -> None:
            if self.cancelled:
                raise PullCancelled
            self.app.call_from_thread(bar.update, total=total, progress=done)

        try:
            pull(p.entry, p.quant, progress=False, on_progress=on_progress)
        except PullCancelled:
            return
        except LocalthinkError as exc:
            self.app.call_from_thread(self.pull_failed, str(exc))
            return
        self.app.call_from_thread(self.dismiss, p.entry.name)  # now local: load it by name

    def pull_failed(self, message: str) -> None:
        self.pulling = False
        self.query_one(OptionList).disabled = False
        self.query_one("#pull-bar").display = False
        self.query_one("#pull-status", Static).update(f"[red]{message}[/red]")

    def action_cancel(self) -> None:
        self.cancelled = True  # a running pull stops at its next chunk
        self.dismiss(None)
