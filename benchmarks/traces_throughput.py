"""Trace generation samples/s against a local llama.cpp server at concurrency 1, 2, 4.

    python benchmarks/traces_throughput.py [--model PATH] [--tasks 8] [--max-tokens 64]

Starts llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`) on the
GGUF and drives `localthink distill traces`' own code against it. Note: that server
handles one request at a time (it has no parallel slots), so concurrency above 1 measures
queueing, not batching; a llama.cpp `llama-server -np N` or vLLM would batch.
Writes benchmarks/results/traces_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from localthink.distill.tasks import generate_tasks
from localthink.distill.teachers import OpenAITeacher
from localthink.distill.traces import run_traces
from localthink.engine.protocol import SamplingParams
from localthink.models.registry import load_registry

RESULTS = Path(__file__).parent / "results" / "traces_throughput.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=load_registry()["smollm2-135m"].bundled_path())
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(args.model),
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--verbose",
            "False",
            # by default it cuts a running stream short when the next request arrives
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        tasks = generate_tasks("arithmetic", args.tasks, seed=5)
        params = SamplingParams(max_tokens=args.max_tokens, temperature=0.6)
        rows = []
        for concurrency in (1, 2, 4):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                written, _ = run_traces(
                    tasks,
                    OpenAITeacher(url, "local"),
                    Path(tmp) / "t.jsonl",
                    1,
                    params,
                    concurrency=concurrency,
                )
                seconds = time.perf_counter() - started
            rows.append(
                {
                    "concurrency": concurrency,
                    "samples": written,
                    "seconds": seconds,
                    "samples_per_s": written / seconds,
                }
            )
            print(f"concurrency {concurrency}: {written / seconds:.2f} samples/s")
    finally:
        server.terminate()
        server.wait(timeout=10)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "traces_throughput",
                "model": args.model.name,
                "max_tokens": args.max_tokens,
                "rows": rows,
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"→ {RESULTS}")


if __name__ == "__main__":
    main()
