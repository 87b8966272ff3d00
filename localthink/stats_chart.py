"""Thinking vs answer tokens per query as a text chart, for `stats --plot` and the F3 screen.

One stacked bar a query (thinking █, answer ▒), scaled to the widest: two glyphs read
without colour, so a pipe gets plain text; a terminal gets them coloured, never a
background.
"""

from __future__ import annotations

THINK, ANSWER = "█", "▒"
COLOURS = {THINK: "\x1b[35m", ANSWER: "\x1b[32m"}  # magenta, green; foreground only
RESET = "\x1b[0m"
TITLE = "thinking vs answer tokens, per query"


def plot(rows, width: int = 100, color: bool = False, last: int = 30) -> str:
    """The last `last` replies, one line each: id, stacked bar, thinking + answer tokens."""
    recent = list(rows)[-last:]
    lines = [TITLE, f"{_paint(THINK, color)} thinking  {_paint(ANSWER, color)} answer"]
    if not recent:
        return "\n".join([*lines, "(no replies yet)"])
    ids = [f"#{r.message_id}" for r in recent]
    counts = [f"{r.thinking_tokens} + {r.answer_tokens}" for r in recent]
    id_w, count_w = max(map(len, ids)), max(map(len, counts))
    room = max(width - id_w - count_w - 2, 4)
    top = max(r.thinking_tokens + r.answer_tokens for r in recent) or 1
    for label, count, r in zip(ids, counts, recent, strict=True):
        think = round(r.thinking_tokens / top * room)
        answer = round((r.thinking_tokens + r.answer_tokens) / top * room) - think
        bar = _paint(THINK * think, color) + _paint(ANSWER * answer, color)
        pad = " " * (room - think - answer)
        lines.append(f"{label:>{id_w}} {bar}{pad} {count:>{count_w}}")
    return "\n".join(lines)


def _paint(text: str, color: bool) -> str:
    return f"{COLOURS[text[0]]}{text}{RESET}" if color and text else text
