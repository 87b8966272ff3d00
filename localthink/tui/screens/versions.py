"""V on a question: the versions an edit replaced, oldest first, with their replies."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from localthink.store.edits import Version


class VersionsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,v,q", "dismiss", "Close")]

    def __init__(self, versions: list[Version]) -> None:
        super().__init__()
        self.versions = versions

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("[b]Earlier versions[/b] of this question (Esc closes)")
            if not self.versions:
                yield Static("This question was never edited.")
            for n, v in enumerate(self.versions, start=1):
                when = datetime.fromtimestamp(v.question.created_at).strftime("%Y-%m-%d %H:%M")
                yield Static(f"Version {n} · {when}", classes="version-title")
                yield Static(v.question.content, classes="version-question", markup=False)
                for reply in v.replies:
                    text = reply.content or "(no answer)"
                    yield Static(text, classes="version-reply", markup=False)
