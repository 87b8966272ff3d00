"""F3: thinking versus answering, for this chat and overall, as tables and a chart."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from localthink.store.db import Store
from localthink.store.stats import query_rows, summarise


class StatsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f3,q", "dismiss", "Close")]

    def __init__(self, store: Store, conversation_id: int | None) -> None:
        super().__init__()
        self.rows = query_rows(store)
        self.chat_rows = [r for r in self.rows if r.conversation_id == conversation_id]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("[b]Thinking vs answering[/b] (Esc closes; `localthink stats` for more)")
            if not self.rows:
                yield Static("No replies stored yet.")
                return
            yield Static("This chat" if self.chat_rows else "All replies")
            yield DataTable(id="queries", show_cursor=False)
            yield Static("Per model")
            yield DataTable(id="models", show_cursor=False)
            from localthink.stats_chart import plot

            width = max(self.app.size.width * 96 // 100 - 6, 20)  # the dialog's inside
            chart = plot(self.chat_rows or self.rows, width=width, color=True)
            yield Static(Text.from_ansi(chart), id="chart")

    def on_mount(self) -> None:
        if not self.rows:
            return
        queries = self.query_one("#queries", DataTable)
        queries.add_columns(
            "question", "model", "think tok", "answer tok", "ratio", "think s", "answer s",
            "stop", "correct",
        )  # fmt: skip
        for r in (self.chat_rows or self.rows)[-50:]:
            queries.add_row(
                r.question.replace("\n", " ")[:36],
                r.model,
                r.thinking_tokens,
                r.answer_tokens,
                "-" if r.ratio is None else f"{r.ratio:.1f}",
                f"{r.thinking_s:.1f}",
                f"{r.answer_s:.1f}",
                r.stop_reason,
                {True: "yes", False: "no", None: "-"}[r.correct],
            )
        models = self.query_one("#models", DataTable)
        models.add_columns(
            "model", "replies", "median think", "p90 think", "median ratio", "cut off", "accuracy"
        )
        for m in summarise(self.rows):
            models.add_row(
                m.model,
                m.replies,
                f"{m.median_thinking:.0f}",
                f"{m.p90_thinking:.0f}",
                "-" if m.median_ratio is None else f"{m.median_ratio:.1f}",
                f"{m.cut_off_share:.0%}",
                "-" if m.accuracy is None else f"{m.accuracy:.0%} of {m.judged}",
            )
