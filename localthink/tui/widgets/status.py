"""Bottom line: model, quant, backend, context used / size."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    model = reactive("loading model…")
    quant = reactive("")
    backend = reactive("")
    ctx_used = reactive(0)
    ctx_size = reactive(0)
    budget = reactive("")

    def render(self) -> str:
        parts = [self.model]
        if self.quant:
            parts.append(self.quant)
        if self.backend:
            parts.append(self.backend)
        if self.ctx_size:
            parts.append(f"ctx {self.ctx_used}/{self.ctx_size}")
        if self.budget:
            parts.append(f"thinking budget: {self.budget}")
        return " · ".join(parts)
