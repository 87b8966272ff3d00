"""Bottom line: model, quant, backend, context used / size, thinking budget, notices."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


def short_budget(label: str) -> str:
    """The budget as a narrow status bar says it: "24 tokens" → "budget 24"."""
    if label == "no thinking":
        return "no think"
    return "budget " + label.replace(" tokens", "").replace("at least ", "≥")


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
    left_out = reactive(0)  # oldest turns the last prompt left out to fit the context
    threads = reactive(0)  # CPU threads of the last reply (the engine adapts them)

    def parts(self) -> list[tuple[str, str | None]]:
        """Each figure in full and short (None: dropped when short of room)."""
        out: list[tuple[str, str | None]] = [(self.model, self.model)]
        if self.quant:
            out.append((self.quant, None))
        if self.backend:
            out.append((self.backend, None))
        if self.ctx_size:
            ctx = f"ctx {self.ctx_used}/{self.ctx_size}"
            out.append((ctx, ctx))
        if self.threads:
            out.append((f"{self.threads} thread{'s' if self.threads > 1 else ''}", None))
        if self.left_out:
            out.append((f"{self.left_out} earlier turns out of context", f"{self.left_out} out"))
        if self.budget:
            out.append((f"thinking budget: {self.budget}", short_budget(self.budget)))
        return out

    def render(self) -> str:
        parts = self.parts()
        text = " · ".join(full for full, _ in parts)
        room = self.content_size.width
        if room and len(text) > room:  # shorten figures, never cut them off
            text = " · ".join(short for _, short in parts if short)
            if len(text) > room:  # the model's name gives way last, from its end
                rest = " · ".join(short for _, short in parts[1:] if short)
                keep = max(room - len(rest) - 4, 4)
                text = f"{self.model[:keep]}… · {rest}" if len(self.model) > keep else text
        return text
