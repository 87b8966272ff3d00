"""What `localthink serve` costs a streaming client: generation tokens/s as the OpenAI SDK
reads them through the server, against `localthink ask` on the same GGUF, threads, prompt
and token count, in interleaved rounds; and the time the server adds before the first token.

    python benchmarks/serve_overhead.py [--model smollm2-135m] [--rounds 8] [--tokens 128]
        [--threads N] [--out FILE]

Targets: median ratio (client tok/s ÷ ask tok/s) >= 0.97; added time to first token
(client-measured minus the engine's own ttft for the same reply) <= 20 ms median.
Writes benchmarks/results/serve_overhead.json (under $OUT when it is set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.serve.server import ServeProcess  # noqa: E402

PROMPT = "Explain step by step how a bicycle stays upright while moving."
RESULTS = Path(os.environ.get("OUT") or Path(__file__).parent / "results") / "serve_overhead.json"


def ask_round(model: str, tokens: int, threads: int, home: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "localthink", "ask", "--json", "--no-save", "--model", model,
         "--max-tokens", str(tokens), "--temperature", "0", "--seed", "1",
         "--threads", str(threads), PROMPT],
        env={**os.environ, "LOCALTHINK_HOME": str(home)},
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    stats = json.loads(out.stdout)["stats"]
    return {
        "tok_s": stats["gen_tokens_per_s"],
        "tokens": stats["answer_tokens"] + stats["thinking_tokens"],
        "ttft_s": stats["ttft_s"],
    }


def serve_round(client: openai.OpenAI, model: str, tokens: int, salt: int) -> dict:
    # a different first line each round: the server's KV cache may not skip the prompt
    sent = time.perf_counter()
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"({salt}) {PROMPT}"}],
        max_tokens=tokens, temperature=0, seed=1, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    first = last = None
    figures, usage = None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        figures = (chunk.model_extra or {}).get("localthink") or figures
        if chunk.choices:
            delta = chunk.choices[0].delta
            if delta.content or (delta.model_extra or {}).get("reasoning_content"):
                last = time.perf_counter()
                first = first or last
    n = usage.completion_tokens
    return {
        "tok_s": (n - 1) / (last - first),
        "tokens": n,
        "client_ttft_s": first - sent,
        "engine_ttft_s": figures["ttft_s"],
        "added_ttft_ms": (first - sent - figures["ttft_s"]) * 1000,
        "server_tok_s": figures["gen_tokens_per_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="serve-overhead-"))
    server = ServeProcess("--threads", str(args.threads), home=home)
    rows = []
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", timeout=600)
        serve_round(client, args.model, 8, -1)  # load the model before timing
        for r in range(args.rounds):
            a = ask_round(args.model, args.tokens, args.threads, home)
            s = serve_round(client, args.model, args.tokens, r)
            rows.append({"round": r, "ask": a, "serve": s, "ratio": s["tok_s"] / a["tok_s"]})
            print(
                f"round {r}: ask {a['tok_s']:.1f} tok/s, serve (client) {s['tok_s']:.1f} tok/s,"
                f" ratio {rows[-1]['ratio']:.3f}, added ttft {s['added_ttft_ms']:.1f} ms",
                flush=True,
            )
    finally:
        server.stop()
    ratio = statistics.median(r["ratio"] for r in rows)
    added = statistics.median(r["serve"]["added_ttft_ms"] for r in rows)
    result = {
        "benchmark": "serve_overhead",
        "model": args.model,
        "prompt": PROMPT,
        "tokens": args.tokens,
        "threads": args.threads,
        "rounds": rows,
        "median_ratio": round(ratio, 4),
        "median_added_ttft_ms": round(added, 2),
        "targets": {"median_ratio": 0.97, "median_added_ttft_ms": 20},
        "met": ratio >= 0.97 and added <= 20,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median ratio {ratio:.3f} (target 0.97), added ttft {added:.1f} ms (target 20)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
