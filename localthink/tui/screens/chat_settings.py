"""F4: this chat's own settings, with the model's registry defaults beside each.

Stored with the conversation; a blank field means the model's default (or the command
line's). `localthink set` stays the place for per-model defaults.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static

from localthink.limits import sampling_problem

# key, label, what blank means
FIELDS = [
    ("system", "System prompt", "none"),
    ("temperature", "Temperature", "model's"),
    ("top_p", "Top-p", "model's"),
    ("max_tokens", "Max tokens", "model's"),
    ("think_budget", "Think budget", "unlimited"),
]


def parse_setting(key: str, text: str):
    """The value typed for a setting (None when blank); ValueError says what is wrong."""
    text = text.strip()
    if not text:
        return None
    if key == "system":
        return text
    try:
        value = int(text) if key in ("max_tokens", "think_budget") else float(text)
    except ValueError:
        value = None
    if key == "think_budget":
        if value is None or value < 0:
            raise ValueError(f"think budget: {text!r} is not a whole number of at least 0")
        return value
    problem = sampling_problem(key, value)
    if problem:
        raise ValueError(f"{key.replace('_', '-')}: {text!r} {problem}")
    return value


class ChatSettingsScreen(ModalScreen[dict | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, settings: dict, defaults: dict[str, str], model: str) -> None:
        super().__init__()
        self.settings = settings
        self.defaults = defaults  # shown beside each field: what a blank one gives
        self.model = model

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"[b]This chat's settings[/b] · {self.model}")
            yield Static("Enter or Ctrl+S saves · Esc cancels · blank: the default at right")
            for key, label, blank in FIELDS:
                value = self.settings.get(key)
                with Horizontal(classes="setting"):
                    yield Label(label)
                    yield Input("" if value is None else str(value), id=key)
                    yield Static(self.defaults.get(key, blank), classes="default", markup=False)
            yield Checkbox("No thinking (empty think block)", self.settings.get("no_think", False))
            yield Static("", id="problem")

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        settings: dict = {}
        try:
            for key, _, _ in FIELDS:
                value = parse_setting(key, self.query_one(f"#{key}", Input).value)
                if value is not None:
                    settings[key] = value
        except ValueError as exc:
            self.query_one("#problem", Static).update(f"[red]{exc}[/red]")
            return
        if self.query_one(Checkbox).value:
            settings["no_think"] = True
        self.dismiss(settings)
