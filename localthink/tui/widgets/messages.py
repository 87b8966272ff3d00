"""A user's message, the chat's notices, and what the chat shows before the first message."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from localthink.tui.widgets.sizing import LaidOutOnce


class UserMessage(LaidOutOnce, Static, can_focus=True):
    """A question. Focused (Tab, Shift+Tab or a click): E edits it, V shows its earlier
    versions."""

    DEFAULT_CSS = """
    UserMessage { margin: 1 0 1 8; padding: 0 1; background: $boost; border-left: thick $accent; }
    UserMessage:focus { border-left: thick $warning; }
    """
    BINDINGS = [
        Binding("e", "edit", "Edit question"),
        Binding("v", "versions", "Earlier versions"),
    ]

    @dataclass
    class EditRequested(Message):
        question_id: int
        text: str

    @dataclass
    class VersionsRequested(Message):
        question_id: int

    def __init__(self, text: str, question_id: int | None = None, versions: int = 0) -> None:
        body = Text(text)
        if versions:
            noun = "version" if versions == 1 else "versions"
            body.append(f"\nedited · {versions} earlier {noun} (V shows them)", style="dim")
        super().__init__(body)
        self.text = text
        self.question_id = question_id

    def action_edit(self) -> None:
        if self.question_id is not None:
            self.post_message(self.EditRequested(self.question_id, self.text))

    def action_versions(self) -> None:
        if self.question_id is not None:
            self.post_message(self.VersionsRequested(self.question_id))


class ContextNotice(LaidOutOnce, Static):
    """Said in the chat when the prompt starts leaving out (more of) the oldest turns."""

    DEFAULT_CSS = """
    ContextNotice { margin: 0 0 1 0; padding: 0 1; color: $warning; text-style: italic; }
    """

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False)


class EmptyState(Static):
    DEFAULT_CSS = """
    EmptyState { margin: 2 4; color: $text-muted; }
    """

    def describe(self, model: str, loaded: bool) -> None:
        status = f"Model: {model}" if loaded else f"Loading {model}…"
        self.update(
            f"{status}\n\nType a question below and press Enter. The model's thinking streams "
            "in a foldable block above each answer.\n\nCtrl+O switches model · "
            "`localthink pull qwen3-0.6b` fetches a reasoning model · F1 lists every key."
        )
