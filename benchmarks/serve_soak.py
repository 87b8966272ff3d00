"""A soak of `localthink serve` on loopback, bounded in count and time: REQUESTS requests
from CLIENTS concurrent clients, a share disconnecting mid-stream, a share malformed, both
dialects, streaming and not, two models (so loads and unloads happen), a queue shorter
than the clients so some are refused with 503.

    python benchmarks/serve_soak.py [--requests 300] [--clients 8] [--queue 4]
        [--max-tokens 16] [--deadline 1800]

Pass when: no response has status 500; every well-formed request its client did not cut
completed (200 with its final event) or was refused 503 with Retry-After; at least one
503 was seen; the server's resident memory grew <= 50 MB from the 50th request to the
last (the server and its model process together); the server is alive at the end.
Writes benchmarks/results/serve_soak.json (under $OUT when it is set).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import THINK_TEMPLATE  # noqa: E402
from tests.serve.server import ServeProcess  # noqa: E402

RESULTS = Path(os.environ.get("OUT") or Path(__file__).parent / "results") / "serve_soak.json"
MALFORMED = [
    ("/v1/chat/completions", b"{oops"),
    ("/v1/chat/completions", b'{"model": "smollm2-135m", "messages": []}'),
    ("/v1/chat/completions", b'{"model": "nope", "messages": [{"role": "user", "content": "x"}]}'),
    ("/v1/chat/completions", b'{"messages": [{"role": "wizard", "content": "x"}]}'),
    ("/api/chat", b'{"model": "smollm2-135m", "messages": [{"role": "user"}], "options": 3}'),
    ("/api/generate", b'{"model": "smollm2-135m", "prompt": ["x"]}'),
    ("/v1/completions", b'{"model": "smollm2-135m", "prompt": "x", "max_tokens": -4}'),
]


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its children (the model runs in a child)."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):  # it ended meanwhile
                total += rss_mb(int(child))
    return total


def one_request(h: httpx.Client, rng: random.Random, max_tokens: int) -> dict:
    kind = rng.random()
    model = "smollm2-think" if rng.random() < 0.8 else "smollm2-135m"
    question = f"What is {rng.randint(1, 50)} + {rng.randint(1, 50)}?"
    if kind < 0.10:
        path, body = rng.choice(MALFORMED)
        r = h.post(path, content=body)
        return {"kind": "malformed", "status": r.status_code}
    ollama = rng.random() < 0.5
    if ollama:
        path = "/api/chat"
        body = {
            "model": model,
            "messages": [{"role": "user", "content": question}],
            "options": {"num_predict": max_tokens},
            "think": rng.choice([True, False, None]),
        }
    else:
        path = "/v1/chat/completions"
        body = {"model": model, "messages": [{"role": "user", "content": question}],
                "max_tokens": max_tokens,
                "reasoning_effort": rng.choice(["none", "low", None])}  # fmt: skip
    cut = kind < 0.30
    stream = cut or rng.random() < 0.5
    body["stream"] = stream
    if not stream:
        r = h.post(path, json=body)
        ok = r.status_code == 200 and ("choices" in r.json() or r.json().get("done") is True)
        return {"kind": "whole", "status": r.status_code, "complete": ok,
                "retry_after": r.headers.get("retry-after")}  # fmt: skip
    with h.stream("POST", path, json=body) as r:
        if r.status_code != 200:
            r.read()
            return {"kind": "cut" if cut else "stream", "status": r.status_code,
                    "retry_after": r.headers.get("retry-after")}  # fmt: skip
        lines, finished = r.iter_lines(), False
        for i, line in enumerate(lines):
            if cut and i >= 2:
                break  # leaving the with-block closes the connection mid-stream
            finished = finished or line == "data: [DONE]" or '"done": true' in line
        return {"kind": "cut" if cut else "stream", "status": 200, "complete": finished}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--queue", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--deadline", type=float, default=1800, help="seconds for the whole soak")
    args = ap.parse_args()

    from localthink.models.gguf_file import copy_gguf
    from localthink.models.registry import load_registry

    home = Path(tempfile.mkdtemp(prefix="serve-soak-"))
    (home / "data" / "models").mkdir(parents=True)
    source = load_registry()["smollm2-135m"].bundled_path()
    copy_gguf(source, home / "data" / "models" / "smollm2-think.gguf",
              {"tokenizer.chat_template": THINK_TEMPLATE})  # fmt: skip
    server = ServeProcess("--queue", str(args.queue), "--ctx", "1024", home=home)
    results: list[dict] = []
    memory: dict[int, float] = {}
    lock = threading.Lock()
    next_index = iter(range(args.requests))
    stop_at = time.monotonic() + args.deadline

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=server.url, timeout=300) as h:
            for i in next_index:
                if time.monotonic() > stop_at:
                    return
                try:
                    row = one_request(h, rng, args.max_tokens)
                except httpx.HTTPError as exc:
                    row = {"kind": "transport", "status": None, "error": repr(exc)}
                if row["status"] == 503:  # a well-behaved client waits as told
                    time.sleep(float(row.get("retry_after") or 1))
                with lock:
                    row["index"] = i
                    results.append(row)
                    if len(results) in (50, args.requests):
                        memory[len(results)] = rss_mb(server.proc.pid)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    memory.setdefault(len(results), rss_mb(server.proc.pid))
    alive = server.proc.poll() is None
    with httpx.Client(base_url=server.url, timeout=30) as h:
        alive = alive and h.get("/api/version").status_code == 200
    server.stop()

    statuses = Counter(str(r["status"]) for r in results)
    incomplete = [
        r for r in results
        if r["kind"] in ("whole", "stream") and r["status"] == 200 and not r.get("complete")
    ]  # fmt: skip
    refused = [r for r in results if r["status"] == 503]
    bad_refusals = [r for r in refused if not r.get("retry_after")]
    malformed_ok = all(
        r["status"] is not None and 400 <= r["status"] < 500
        for r in results
        if r["kind"] == "malformed"
    )
    first, last = memory.get(50, 0.0), memory[max(memory)]
    checks = {
        "no_500": statuses.get("500", 0) == 0,
        "no_transport_errors": statuses.get("None", 0) == 0,
        "well_formed_complete": not incomplete,
        "queue_full_503_seen": bool(refused) and not bad_refusals,
        "malformed_are_4xx": malformed_ok,
        "rss_growth_mb_le_50": last - first <= 50,
        "alive_at_end": alive,
        "all_requests_sent": len(results) == args.requests,
    }
    result = {
        "benchmark": "serve_soak",
        "settings": vars(args),
        "seconds": round(seconds, 1),
        "requests": len(results),
        "by_kind": dict(Counter(r["kind"] for r in results)),
        "statuses": dict(statuses),
        "rss_mb": {str(k): round(v, 1) for k, v in sorted(memory.items())},
        "rss_growth_mb": round(last - first, 1),
        "checks": checks,
        "passed": all(checks.values()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("seconds", "statuses", "rss_mb", "checks")}))
    print(f"{'PASS' if result['passed'] else 'FAIL'}; wrote {RESULTS}")


if __name__ == "__main__":
    main()
