"""Training throughput and model FLOPs utilisation of `localthink distill train`'s step.

A Qwen2.5-1.5B-shaped student with random weights (speed does not depend on the values),
trained with the same step as localthink.distill.train (accelerate bf16 mixed precision,
fp32 master weights, AdamW, assistant-style labels), on random token batches.

    python benchmarks/train_mfu.py [--seq 2048] [--batch 8] [--steps 20] [--compile]

MFU = 6 × parameters × tokens/s ÷ peak dense bf16 FLOP/s (989 TFLOP/s for an H100 SXM).
Writes benchmarks/results/train_mfu.json (or $OUT/train_mfu.json when $OUT is set).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

PEAK = {"H100": 989e12, "H200": 989e12}


def main() -> None:
    import torch
    from accelerate import Accelerator
    from shapes import qwen2_config  # benchmarks/ is on sys.path when run as a script
    from transformers import Qwen2ForCausalLM

    from localthink.distill.train import Example, collate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()

    config = qwen2_config("1.5b")
    accelerator = Accelerator(mixed_precision="bf16")
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    model, optimizer = accelerator.prepare(model, optimizer)
    if args.compile:
        model = torch.compile(model)
    g = torch.Generator().manual_seed(1)

    def batch():
        rows = []
        for _ in range(args.batch):
            ids = torch.randint(0, config.vocab_size, (args.seq,), generator=g).tolist()
            cut = args.seq // 4  # prompt part carries no labels, as in SFT
            rows.append(Example(ids, [-100] * cut + ids[cut:]))
        return [t.to(accelerator.device) for t in collate(rows, 0)]

    times = []
    for step in range(args.warmup + args.steps):
        ids, labels, mask = batch()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - t0)
    tokens_per_s = args.batch * args.seq / (sum(times) / len(times))
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK.items() if k in name), 989e12)
    mfu = 6 * params * tokens_per_s / peak
    result = {
        "benchmark": "train_mfu",
        "device": name,
        "params": params,
        "seq": args.seq,
        "batch": args.batch,
        "steps": args.steps,
        "compile": args.compile,
        "tokens_per_s": tokens_per_s,
        "mfu": mfu,
        "peak_flops": peak,
        "max_memory_gb": torch.cuda.max_memory_allocated() / 1e9,
        "torch": torch.__version__,
        "step_s": times,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "step_s"}, indent=2))
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else Path(__file__).parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"train_mfu{'_compile' if args.compile else ''}.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
