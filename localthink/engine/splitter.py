"""Turn a model's raw output stream into thinking and answer text, chunk by chunk.

Written by hand: no library splits reasoning tags out of a token stream while
tags may arrive cut across token boundaries.

Rules (the same for any chunking of the same text, see `split_reply`):
- an opening tag counts only before any answer text (leading whitespace allowed),
  or is implied when the chat template already opened it (`starts_inside`); an opening
  tag written again at the start of the thinking is dropped;
- thinking ends at the first closing tag; whitespace around the thinking and at
  the start of the answer is dropped;
- no opening tag means the model did not think: everything is answer;
- a thinking block that never closes (token limit) is all thinking, marked unclosed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from localthink.engine.protocol import ThinkTags


class Phase(Enum):
    START = "start"
    THINK = "think"
    ANSWER = "answer"


@dataclass(frozen=True)
class Split:
    thinking: str
    answer: str
    thinking_closed: bool


def split_reply(text: str, tags: ThinkTags = ThinkTags(), starts_inside: bool = False) -> Split:
    """Split a whole reply at once; the streaming splitter must agree with this."""
    if starts_inside:
        body = text
    else:
        stripped = text.lstrip()
        if not stripped.startswith(tags.open):
            return Split("", stripped, True)
        body = stripped[len(tags.open) :]
    body = body.lstrip()
    while body.startswith(tags.open):  # an opening tag written again: not thinking text
        body = body[len(tags.open) :].lstrip()
    end = body.find(tags.close)
    if end < 0:
        return Split(body.strip(), "", False)
    return Split(body[:end].strip(), body[end + len(tags.close) :].lstrip(), True)


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could be the start of `tag`."""
    for n in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


class ThinkSplitter:
    """Streaming state machine: feed text chunks, get (thinking, answer) deltas."""

    def __init__(self, tags: ThinkTags = ThinkTags(), starts_inside: bool = False) -> None:
        self.tags = tags
        self.phase = Phase.THINK if starts_inside else Phase.START
        self.thinking_closed = True
        self._buf = ""
        self._think_lead = True  # still dropping whitespace at the start of thinking
        self._answer_lead = True  # still dropping whitespace at the start of the answer

    def feed(self, chunk: str) -> tuple[str, str]:
        """Add a chunk; return the thinking and answer text it settles."""
        self._buf += chunk
        thinking, answer = "", ""
        if self.phase is Phase.START:
            self._buf = self._buf.lstrip()
            if not self._buf or (
                len(self._buf) < len(self.tags.open) and self.tags.open.startswith(self._buf)
            ):
                return "", ""
            if self._buf.startswith(self.tags.open):
                self._buf = self._buf[len(self.tags.open) :]
                self.phase = Phase.THINK
            else:
                self.phase = Phase.ANSWER
        if self.phase is Phase.THINK and self._think_lead:
            # a model whose template already opened the thinking may write the tag again
            lead = self._buf.lstrip()
            while lead.startswith(self.tags.open):
                lead = lead[len(self.tags.open) :].lstrip()
                self._buf = lead
            if lead and self.tags.open.startswith(lead):
                return thinking, ""  # may yet be a redundant opening tag: hold it
        if self.phase is Phase.THINK:
            end = self._buf.find(self.tags.close)
            if end >= 0:
                thinking = self._think(self._buf[:end].rstrip())
                self._buf = self._buf[end + len(self.tags.close) :]
                self.phase = Phase.ANSWER
            else:
                held = _partial_suffix(self._buf, self.tags.close)
                settled = self._buf[: len(self._buf) - held]
                safe = settled.rstrip()  # trailing space may precede the closing tag
                thinking = self._think(safe)
                self._buf = self._buf[len(safe) :]
                return thinking, ""
        if self.phase is Phase.ANSWER:
            answer = self._answer(self._buf)
            self._buf = ""
        return thinking, answer

    def finish(self) -> tuple[str, str]:
        """End of stream: flush whatever was held back."""
        rest, self._buf = self._buf, ""
        if self.phase is Phase.THINK:
            self.thinking_closed = False
            return self._think(rest.rstrip()), ""
        if self.phase is Phase.START:
            self.phase = Phase.ANSWER
        return "", self._answer(rest)

    def _think(self, text: str) -> str:
        if self._think_lead:
            text = text.lstrip()
            self._think_lead = not text
        return text

    def _answer(self, text: str) -> str:
        if self._answer_lead:
            text = text.lstrip()
            self._answer_lead = not text
        return text
