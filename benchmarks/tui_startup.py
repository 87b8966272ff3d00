"""Chat app start-up and streaming speed.

1. Time from process start to the first frame on screen: `localthink chat` runs on a
   pseudo-terminal; the clock stops when the sidebar's search placeholder is drawn.
   Target < 0.5 s.
2. Tokens/s of a reply as the user sees it in the app (generated tokens over the time
   from pressing Enter to the last token rendered) against `localthink ask`'s path
   (Session → engine, from the call to Done) on the same model, prompt and token
   count, rounds interleaved. Target ratio >= 0.97. Each row also has the window's own CPU
   for the reply (the main thread's, from Enter to the drain that draws the reply's end).

    python benchmarks/tui_startup.py [--runs 10] [--rounds 5] [--tokens 200] [--threads N]

Writes benchmarks/results/tui_startup.json (tui_startup_threadsN.json with --threads).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "tui_startup.json"
PROMPT = "Explain step by step how a bicycle stays upright while moving."


def first_frame_seconds(home: str) -> float:
    master, slave = os.openpty()
    env = {
        **os.environ,
        "LOCALTHINK_HOME": home,
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
    }
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "localthink", "chat"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - t0 < 20:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 65536)
                if b"Search chats" in seen:  # the sidebar's placeholder: drawn in frame one
                    return time.perf_counter() - t0
        raise RuntimeError("no first frame within 20 s")
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


async def app_reply(opened, tokens: int, history: int = 0) -> tuple[float, float]:
    """The app's tokens/s for one reply, and its window's CPU seconds from Enter to the end
    (the main thread's: what the engine's threads lose cores to, with the receiving
    thread's few ms left out). With `history`, the question goes to a chat opened with that
    many earlier turns (taller than the screen: daily use), else to a new chat."""
    from textual import events

    from localthink.engine.protocol import SamplingParams
    from localthink.store.db import Store
    from localthink.tui.app import ChatApp
    from localthink.tui.widgets.reply import ReplyView

    with tempfile.TemporaryDirectory() as tmp:
        app = ChatApp(
            params=SamplingParams(max_tokens=tokens, temperature=0.0),
            opener=lambda spec: opened,
            store=Store(Path(tmp) / "c.db"),
        )
        finished: list[float] = []
        ended = asyncio.Event()
        drain = app.drain

        async def timed_drain() -> None:
            # the clock stops inside the app, when the final figures are drawn, and the
            # harness waits for that without polling: Pilot.pause lays out and repaints the
            # whole screen each call, CPU the app itself never spends
            streaming = app.streaming is not None
            await drain()
            if streaming and app.streaming is None:  # this drain drew the end of the reply
                finished.append(time.perf_counter())
                window.append(time.thread_time() - window[0])
                ended.set()

        app.drain = timed_drain
        async with app.run_test(size=(120, 40)) as pilot:
            while app.session is None:
                await pilot.pause(0.01)
            if history:
                await app.show_conversation(earlier_turns(app.store, history))
            app.query_one("#prompt").load_text(PROMPT)
            # a user types the question after the window is up: what startup left to draw
            # (the footer's keys, the chat list) and the typed text are done before Enter
            await pilot.pause(0.5)
            start = time.perf_counter()
            window = [time.thread_time()]  # the main thread's, where the app runs
            # Enter as a terminal's driver posts it, and nothing more: Pilot.press then
            # waits for the app to be idle, polling CPU time and messaging every widget on
            # the screen while the reply streams, work of the harness and not of the app
            app.post_message(events.Key("enter", "\r"))
            await ended.wait()
            last = finished[0]
            gen = app.query(ReplyView).last().done.stats.gen_tokens
            app.opened = None  # keep the shared engine loaded for the next round
    # fresh conversation each round: the same one-turn prompt
    return gen / (last - start), window[-1]


EARLIER_ANSWER = (
    "A bicycle stays up because it keeps moving: steering **into** a lean brings the "
    "wheels back under the rider.\n\n- trail: the front wheel touches down behind "
    "the steering axis\n- speed: faster is steadier\n\nThe rest is practice."
)


def earlier_questions(turns: int) -> list[str]:
    return [f"Question {i}: why does a bicycle stay upright?" for i in range(turns)]


def earlier_turns(store, turns: int) -> int:
    """A stored chat of `turns` question-and-answer turns, each answer a few Markdown
    paragraphs and a list, as a model's are; returns its id."""
    conv = store.new_conversation("an earlier chat", "smollm2-135m")
    for question in earlier_questions(turns):
        store.add_message(conv.id, "user", question)
        store.add_message(conv.id, "assistant", EARLIER_ANSWER, model="smollm2-135m")
    return conv.id


def ask_reply(opened, tokens: int, history: int = 0) -> float:
    """`ask`'s path: tokens/s of one reply, after the same earlier turns as app_reply's."""
    from localthink.chat import Session, Turn
    from localthink.engine.protocol import Done, ReplyStats, SamplingParams

    session = Session(opened.engine, SamplingParams(max_tokens=tokens, temperature=0.0))
    for question in earlier_questions(history):
        session.turns.append(Turn(question, "", EARLIER_ANSWER, ReplyStats()))
    start = time.perf_counter()
    done = [e for e in session.send(PROMPT) if isinstance(e, Done)][0]
    return done.stats.gen_tokens / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--threads", type=int, help="engine threads (default: adapting)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as home:
        first_frame_seconds(home)  # warm the OS file cache, as a second launch would be
        starts = [first_frame_seconds(home) for _ in range(args.runs)]
    print(f"first frame: median {statistics.median(starts):.3f} s over {args.runs} runs")

    from localthink.chat import open_model
    from localthink.engine.llama import default_threads
    from localthink.engine.protocol import LoadOptions

    options = LoadOptions(n_threads=args.threads)

    # Both keep their KV cache between rounds (same prompt each time), so neither
    # side gets a cheaper prompt evaluation than the other after round one.
    opened = open_model(None, options)  # what `ask` runs: the engine in this process
    app_opened = open_model(None, options, subprocess=True)  # the app's: a child process
    rows = []
    for i in range(args.rounds):
        order = ("ask", "app") if i % 2 == 0 else ("app", "ask")
        row = {}
        for which in order:
            if which == "ask":
                row["ask_tps"] = ask_reply(opened, args.tokens)
            else:
                row["app_tps"], cpu = asyncio.run(app_reply(app_opened, args.tokens))
                row["window_cpu_ms"] = round(1000 * cpu)
        row["ratio"] = row["app_tps"] / row["ask_tps"]
        rows.append(row)
        print(
            f"round {i + 1}: ask {row['ask_tps']:.1f} tok/s, app {row['app_tps']:.1f} tok/s, "
            f"ratio {row['ratio']:.3f}"
        )
    result = {
        "benchmark": "tui_startup",
        "model": opened.resolved.model.name,
        "first_frame_s_median": statistics.median(starts),
        "first_frame_s_runs": starts,
        "first_frame_target_s": 0.5,
        "render_ratio_median": statistics.median(r["ratio"] for r in rows),
        "render_ratio_target": 0.97,
        "tokens": args.tokens,
        "threads": args.threads or f"adaptive (up to {default_threads()})",
        "rows": rows,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = RESULTS.with_name(f"tui_startup_threads{args.threads}.json") if args.threads else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"render ratio median {result['render_ratio_median']:.3f} → {out}")


if __name__ == "__main__":
    main()
