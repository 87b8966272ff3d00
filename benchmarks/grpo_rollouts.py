"""GRPO's rollouts alone: one step's `generate` (16 prompts × 8 samples, 256 new tokens) with
the dynamic KV cache it used before and the static, compiled one it uses on CUDA now.

Times the first call (compiling included) and the median of the next `--repeats`; counts
generated positions (every row to the step's longest completion) and real completion
tokens (up to each one's end). Greedy agreement: the share of the first 64 greedy tokens
the two caches agree on (bf16 arithmetic in both). With `--config` the student has random
weights (no end-of-sequence token, so every completion runs the full length) and is also
saved to `--save` for a quick end-to-end run of the loop.

    python benchmarks/grpo_rollouts.py --student SmolLM2.gguf --out rollouts.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from localthink.distill import grpo_rollout
from localthink.distill.grpo import GRPOConfig
from localthink.distill.tasks import generate_tasks


def timed(fn):
    import torch

    torch.cuda.synchronize()
    t = time.perf_counter()
    value = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t, value


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--student", help="HF folder or .gguf")
    ap.add_argument("--config", help="HF folder with config and tokenizer: random weights")
    ap.add_argument("--save", help="with --config: save the random student here")
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    args = ap.parse_args()
    if args.config:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(args.config))
        tok = AutoTokenizer.from_pretrained(args.config)
        if args.save:
            model.save_pretrained(args.save)
            tok.save_pretrained(args.save)
    else:
        from localthink.distill.train import load_student

        model, tok = load_student(args.student)
    model.to("cuda").eval()
    cfg = GRPOConfig(max_new_tokens=args.max_new_tokens, temperature=0.7)
    tasks = generate_tasks("arithmetic", 1000, seed=1, difficulty=0)
    batches = [tasks[i * args.prompts : (i + 1) * args.prompts] for i in range(args.repeats + 1)]
    rows = {}
    greedy = {}
    for name, static in (("dynamic cache", False), ("static cache, compiled", True)):
        grpo_rollout.static_cache = lambda model, static=static: static
        policy = grpo_rollout.rollout_policy(model)  # the bfloat16 copy when static
        calls = []
        for i, batch in enumerate(batches):
            torch.manual_seed(i)
            seconds, (seqs, _, prompt_len, mask, _) = timed(
                lambda b=batch, p=policy: grpo_rollout.generate(p, tok, b, args.group, cfg)
            )
            width = seqs.shape[1] - prompt_len
            calls.append({"s": seconds, "positions": width * seqs.shape[0],
                          "tokens": int(mask.sum()), "prompt_width": prompt_len})  # fmt: skip
            print(name, calls[-1], flush=True)
        later = calls[1:]
        rows[name] = {
            "first_call_s": calls[0]["s"],
            "median_s": statistics.median(c["s"] for c in later),
            "positions_per_s": sum(c["positions"] for c in later) / sum(c["s"] for c in later),
            "tokens_per_s": sum(c["tokens"] for c in later) / sum(c["s"] for c in later),
            "calls": calls,
        }
        # greedy agreement (sample=True keeps the static path; temperature near 0 is greedy)
        g = GRPOConfig(max_new_tokens=64, temperature=1e-6)
        torch.manual_seed(0)
        greedy[name] = grpo_rollout.generate(policy, tok, batches[0][:4], 1, g)[3:]
    (m1, t1), (m2, t2) = greedy.values()
    same = sum(a == b for a, b in zip(t1, t2, strict=True))
    out = {
        "what": f"one GRPO step's rollouts: {args.prompts} prompts x {args.group} samples, "
        f"{args.max_new_tokens} new tokens, temperature 0.7, bf16 autocast",
        "student": args.student or f"random weights, config of {args.config}",
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "variants": rows,
        "greedy_texts_identical": f"{same}/{len(t1)}",
        "greedy_texts": {k: v[1] for k, v in greedy.items()},
    }
    with open(args.out, "w") as f:
        f.write(json.dumps(out, indent=2) + "\n")
    for name, r in rows.items():
        print(f"{name:>24}: first call {r['first_call_s']:.1f} s, then {r['median_s']:.2f} s "
              f"({r['positions_per_s']:.0f} positions/s, "
              f"{r['tokens_per_s']:.0f} tokens/s)")  # fmt: skip
    print("greedy texts identical:", out["greedy_texts_identical"])


if __name__ == "__main__":
    main()
