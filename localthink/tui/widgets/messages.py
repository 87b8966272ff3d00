"""A user's message, and what the chat shows before the first one."""

from __future__ import annotations

from textual.widgets import Static


class UserMessage(Static):
    DEFAULT_CSS = """
    UserMessage { margin: 1 0 1 8; padding: 0 1; background: $boost; border-left: thick $accent; }
    """

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False)


class ContextNotice(Static):
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
