"""The chat window's own CPU per streamed reply, apart from the engine's.

On a machine whose cores llama.cpp's threads all hold, every millisecond the window draws
is one the engine waits out (benchmarks/busy_machine.py's app figure), but that figure
moves ±0.05 between runs on a 2-core VM. This one is steady: the reply's real tokens
(SmolLM2's 200-token answer to tui_startup's prompt, generated once at temperature 0)
are replayed by an engine in the app's process that sleeps between them at a fixed pace,
so nothing else competes, and the main thread's CPU time from Enter to the drain that
draws the reply's end is read, with the frames and layouts from Enter until the app
closes. Three shapes: the answer alone, a reasoning model's (the same text as thinking,
then as the answer), both in a new chat, and the answer in a chat of 30 earlier turns
(taller than the screen, as in daily use: a layout there costs several times more).

    python benchmarks/tui_draw_cost.py [--rounds 6] [--tps 70]

Writes benchmarks/results/tui_draw_cost.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # tui_startup's app_reply and prompt

RESULTS = Path(__file__).parent / "results" / "tui_draw_cost.json"
LONG_CHAT = 30  # earlier turns of the third shape's chat


class PacedEngine:
    """Yields recorded token texts at `tps`, sleeping between them (the Engine protocol)."""

    def __init__(self, info, pieces: list[str], tps: float) -> None:
        self.info, self.pieces, self.tps = info, pieces, tps

    def stream(self, messages, params, cancel=None):
        from localthink.engine.reply import ReplyBuilder

        builder = ReplyBuilder(len(messages), 0)
        due = time.perf_counter()
        for piece in self.pieces:
            due += 1 / self.tps
            time.sleep(max(0.0, due - time.perf_counter()))
            yield from builder.token(piece)
        yield from builder.finish("done")

    def prompt_tokens(self, messages, params) -> int:
        return 40

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def close(self) -> None:
        pass


def recorded_reply(opened, tokens: int) -> list[str]:
    """The token texts of the model's reply to the benchmark's prompt."""
    import tui_startup

    from localthink.chat import Session
    from localthink.engine.protocol import AnswerDelta, SamplingParams, ThinkDelta

    session = Session(opened.engine, SamplingParams(max_tokens=tokens, temperature=0.0))
    events = session.send(tui_startup.PROMPT)
    return [e.text for e in events if isinstance(e, AnswerDelta | ThinkDelta)]


class Counts:
    """Frames and layouts of the app's screen, counted from the last Enter."""

    def __init__(self) -> None:
        from textual.app import App
        from textual.screen import Screen

        self.frames = self.layouts = 0
        frame, layout = Screen._compositor_refresh, Screen._refresh_layout
        post = App.post_message

        def enter_resets(app, message):
            if type(message).__name__ == "Key":  # tui_startup posts Enter, nothing else
                self.frames = self.layouts = 0
            return post(app, message)

        def counted_frame(screen, *args, **kwargs):
            self.frames += 1
            return frame(screen, *args, **kwargs)

        def counted_layout(screen, *args, **kwargs):
            self.layouts += 1
            return layout(screen, *args, **kwargs)

        Screen._compositor_refresh, Screen._refresh_layout = counted_frame, counted_layout
        App.post_message = enter_resets


def measure(opened, rounds: int, counts: Counts, history: int = 0) -> dict:
    import tui_startup

    rows = []
    for _ in range(rounds + 1):  # the first warms Textual's caches: left out
        _, cpu = asyncio.run(tui_startup.app_reply(opened, 100_000, history))
        rows.append(
            {"window_cpu_ms": round(1000 * cpu), "frames": counts.frames, "layouts": counts.layouts}
        )
    rows = rows[1:]
    return {
        key + "_median": statistics.median(r[key] for r in rows)
        for key in ("window_cpu_ms", "frames", "layouts")
    } | {"rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--tps", type=float, default=70.0, help="the replayed reply's pace")
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    from localthink.chat import open_model

    with tempfile.TemporaryDirectory() as home:
        os.environ["LOCALTHINK_HOME"] = home
        opened = open_model(None)  # the bundled SmolLM2, in this process
        pieces = recorded_reply(opened, args.tokens)
        info = replace(opened.engine.info, cpu_threads=os.cpu_count() or 1)  # cores held
        opened.engine.close()
        counts = Counts()
        result = {
            "benchmark": "tui_draw_cost",
            "model": opened.resolved.model.name,
            "tokens": len(pieces),
            "tps": args.tps,
            "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        shapes = {"answer": pieces, "thinking_then_answer": ["<think>", *pieces, "</think>"]}
        shapes["thinking_then_answer"] += pieces
        shapes["answer_after_30_turns"] = pieces
        for shape, tokens in shapes.items():
            paced = replace(opened, engine=PacedEngine(info, tokens, args.tps))
            history = LONG_CHAT if shape == "answer_after_30_turns" else 0
            result[shape] = measure(paced, args.rounds, counts, history)
            r = result[shape]
            print(
                f"{shape}: window CPU {r['window_cpu_ms_median']} ms, "
                f"{r['frames_median']} frames, {r['layouts_median']} layouts",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
