"""Thinking vs answer tokens as a terminal chart (plotext), for `stats --plot` and the TUI."""

from __future__ import annotations


def plot(rows) -> str:
    """A scatter of thinking vs answer tokens and a per-query bar chart, as text."""
    import plotext as plt

    plt.clear_figure()
    plt.subplots(1, 2)
    plt.plot_size(110, 24)
    plt.subplot(1, 1)
    plt.title("thinking vs answer tokens")
    if rows:
        plt.scatter([r.answer_tokens for r in rows], [r.thinking_tokens for r in rows])
    plt.xlabel("answer tokens")
    plt.ylabel("thinking tokens")
    plt.subplot(1, 2)
    plt.title("per query")
    if rows:
        recent = rows[-30:]
        # bars: thinking tokens per query; line: answer tokens (plotext 5's stacked_bar
        # breaks inside subplots)
        plt.bar(
            [str(r.message_id) for r in recent],
            [r.thinking_tokens for r in recent],
            label="thinking",
        )
        plt.plot(list(range(1, len(recent) + 1)), [r.answer_tokens for r in recent], label="answer")
    return plt.build()
