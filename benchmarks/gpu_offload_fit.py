"""How well localthink's VRAM plan (localthink/models/fit.py) matches what a CUDA llama.cpp
really takes, on a Qwen2.5-1.5B-shaped f16 GGUF with random weights (no downloads).

    python benchmarks/gpu_offload_fit.py build DIR [SIZE] # the GGUF (torch, transformers)
    python benchmarks/gpu_offload_fit.py measure DIR    # in a fresh process: no torch context

`measure` loads the model once with the engine's own choice (everything fits on a big GPU),
then with the layer counts the plan gives for made-up free-VRAM budgets, and reads the GPU
memory each load really took from nvidia-smi. Writes gpu_offload_fit.json under $OUT when
set, else benchmarks/results/. A plan is safe when real <= planned for every load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


def build(folder: Path, size: str = "1.5b") -> Path:
    from train_mfu import build_student

    from converters import convert_checkpoint

    hf = folder / "hf"
    build_student(hf, size)
    gguf = folder / f"qwen2-{size}-f16.gguf"
    convert_checkpoint(hf, gguf, "f16")
    return gguf


def gpu_used_bytes() -> int:
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.split()[0]) * 1024 * 1024


def measure(folder: Path) -> dict:
    # llama.cpp before numpy (localthink/engine/llama.py says why)
    from localthink.engine.llama import LlamaEngine
    from localthink.engine.protocol import LoadOptions, Message, SamplingParams
    from localthink.models.fit import gpu_layers_that_fit, gpu_memory_bytes, layer_sizes

    gguf = next(folder.glob("*.gguf"))
    ctx = 8192
    sizes = layer_sizes(gguf)
    free = gpu_memory_bytes()
    rows = []

    def load(label: str, layers: int | None, budget: int | None) -> None:
        before = gpu_used_bytes()
        started = time.perf_counter()
        engine = LlamaEngine(gguf, LoadOptions(n_ctx=ctx, n_gpu_layers=layers))
        load_s = time.perf_counter() - started
        loaded = gpu_used_bytes() - before
        params = SamplingParams(max_tokens=64, temperature=0.0, seed=1)
        done = None
        for event in engine.stream([Message("user", "Count to twenty.")], params):
            done = event
        real = gpu_used_bytes() - before  # after a reply: compute buffers in use too
        chosen = engine._gpu_layers
        planned = sizes.vram_needed(chosen, ctx)
        engine.close()
        row = {
            "case": label,
            "n_gpu_layers": chosen,
            "budget_bytes": budget,
            "planned_bytes": planned,
            "real_after_load_bytes": loaded,
            "real_after_reply_bytes": real,
            "planned_minus_real_mib": round((planned - real) / 2**20),
            "safe": real <= planned and (budget is None or real <= budget),
            "load_s": round(load_s, 2),
            "gen_tokens_per_s": round(done.stats.gen_tokens_per_s, 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    load("engine's own choice", None, None)
    for k in (7, 14, 21, 28):
        budget = sizes.vram_needed(k, ctx)
        layers = gpu_layers_that_fit(sizes, budget, ctx)
        load(f"budget for {k} blocks", layers, budget)
    return {
        "benchmark": "gpu_offload_fit",
        "model": gguf.name,
        "file_bytes": gguf.stat().st_size,
        "blocks": sizes.block_count,
        "n_ctx": ctx,
        "free_vram_bytes": free,
        "rows": rows,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    stage, folder = sys.argv[1], Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    if stage == "build":
        print(build(folder, *sys.argv[3:4]))
        return
    result = measure(folder)
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_offload_fit.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"→ {out / 'gpu_offload_fit.json'}")


if __name__ == "__main__":
    main()
