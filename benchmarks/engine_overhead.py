"""Generation tokens/s through localthink (Session → engine → splitter → figures)
versus a bare llama-cpp-python token loop on the same GGUF, prompt, threads and
token count. Rounds are interleaved A/B; the median ratio is the figure.

    python benchmarks/engine_overhead.py [--model PATH] [--rounds 10] [--tokens 128]
        [--gpu-layers N]

Writes benchmarks/results/engine_overhead.json (engine_overhead_<backend>.json when layers
are offloaded to a GPU; under $OUT when it is set). Target: ratio >= 0.98. On a GPU the
tokens come several times faster, so what localthink adds per token weighs more there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import llama_cpp

from localthink.chat import Session
from localthink.engine.llama import LlamaEngine, LoadOptions, default_threads
from localthink.engine.protocol import Done, Message, SamplingParams
from localthink.models.registry import load_registry

PROMPT = "Explain step by step how a bicycle stays upright while moving."
RESULTS = Path(__file__).parent / "results" / "engine_overhead.json"


def bare_loop(llm: llama_cpp.Llama, prompt_tokens: list[int], n: int) -> tuple[float, int]:
    """The least a program can do: generate, detokenize, stop at end-of-generation."""
    vocab = llm._model.vocab
    llm.reset()
    first = last = 0.0
    count = 0
    for token in llm.generate(prompt_tokens, temp=0.0, top_k=40, top_p=0.95, min_p=0.05):
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        llm.detokenize([token])
        last = time.perf_counter()
        count += 1
        if count == 1:
            first = last
        if count >= n:
            break
    return (count - 1) / (last - first), count


def localthink_loop(engine: LlamaEngine, n: int) -> tuple[float, int]:
    engine._llm.reset()  # same cold prompt as the bare loop: no KV reuse advantage
    session = Session(engine, SamplingParams(max_tokens=n, temperature=0.0))
    done = [e for e in session.send(PROMPT) if isinstance(e, Done)][0]
    return done.stats.gen_tokens_per_s, done.stats.gen_tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=load_registry()["smollm2-135m"].bundled_path())
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--gpu-layers", type=int, help="layers to offload (default: all on a GPU)")
    args = ap.parse_args()

    options = LoadOptions(n_ctx=2048, n_threads=args.threads, n_gpu_layers=args.gpu_layers)
    engine = LlamaEngine(args.model, options)
    # The bare loop drives the very same llama_cpp.Llama (same weights in memory, same
    # context), so the only difference measured is what localthink adds per token.
    bare = engine._llm
    prompt_tokens = engine.tokenize(engine.template.render([Message("user", PROMPT)]))

    rows = []
    for i in range(args.rounds):
        order = ("bare", "localthink") if i % 2 == 0 else ("localthink", "bare")
        row = {}
        for which in order:
            if which == "bare":
                row["bare_tps"], row["bare_tokens"] = bare_loop(bare, prompt_tokens, args.tokens)
            else:
                row["lt_tps"], row["lt_tokens"] = localthink_loop(engine, args.tokens)
        row["ratio"] = row["lt_tps"] / row["bare_tps"]
        rows.append(row)
        print(
            f"round {i + 1}: bare {row['bare_tps']:.1f} tok/s ({row['bare_tokens']}), "
            f"localthink {row['lt_tps']:.1f} tok/s ({row['lt_tokens']}), ratio {row['ratio']:.3f}"
        )

    result = {
        "benchmark": "engine_overhead",
        "model": str(args.model.name),
        "threads": args.threads,
        "backend": engine.info.backend,
        "tokens": args.tokens,
        "rounds": args.rounds,
        "median_bare_tps": statistics.median(r["bare_tps"] for r in rows),
        "median_localthink_tps": statistics.median(r["lt_tps"] for r in rows),
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "target_ratio": 0.98,
        "machine": f"{platform.machine()} {platform.processor() or ''} {platform.python_version()}",
        "llama_cpp_python": llama_cpp.__version__,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
    }
    results = Path(os.environ["OUT"]) / RESULTS.name if os.environ.get("OUT") else RESULTS
    if engine.info.backend != "CPU":
        results = results.with_name(f"engine_overhead_{engine.info.backend.lower()}.json")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median ratio {result['median_ratio']:.3f} (target 0.98) → {results}")


if __name__ == "__main__":
    main()
