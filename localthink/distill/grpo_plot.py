"""The GRPO curve: accuracy and mean completion length against step (terminal and PNG)."""

from __future__ import annotations

from pathlib import Path


def curve_text(history: list[dict], width: int = 100, height: int = 22, color: bool = True) -> str:
    """Two side-by-side terminal charts (plotext): does thinking grow as accuracy rises?"""
    import plotext as plt

    steps = [r["step"] for r in history]
    plt.clear_figure()
    plt.subplots(1, 2)
    plt.plot_size(width, height)
    plt.subplot(1, 1)
    plt.title("accuracy / format rate")
    plt.plot(steps, [r["accuracy"] for r in history], label="accuracy")
    plt.plot(steps, [r["format_rate"] for r in history], label="format")
    plt.ylim(0, 1)
    plt.xlabel("step")
    plt.subplot(1, 2)
    plt.title("mean completion tokens")
    plt.plot(steps, [r["completion_tokens"] for r in history])
    plt.xlabel("step")
    text = plt.build()
    return text if color else plt.uncolorize(text)


def save_png(history: list[dict], path: Path) -> bool:
    """The same curve as a PNG when matplotlib is installed; False when it is not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    steps = [r["step"] for r in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(steps, [r["accuracy"] for r in history], label="accuracy")
    left.plot(steps, [r["format_rate"] for r in history], label="format rate")
    left.set_xlabel("step")
    left.set_ylim(0, 1)
    left.legend()
    right.plot(steps, [r["completion_tokens"] for r in history])
    right.set_xlabel("step")
    right.set_title("mean completion tokens")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
