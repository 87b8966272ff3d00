"""GRPO on the SmolLM2-135M student with built-in arithmetic: held-out accuracy before/after.

Resumable across calls (a GPU lease is cut into 10-minute commands): each call trains until
`--time-limit` runs out, checkpoints, and exits; the call that reaches `--steps` evaluates
the final policy and writes the result. Run on CPU with tiny settings to check it works:

    python benchmarks/grpo_arith.py --student SmolLM2.gguf --work /tmp/g --steps 2 \
        --group 2 --prompts 1 --max-new-tokens 16 --eval-n 4
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path

from localthink.distill.grpo import GRPOConfig, grpo
from localthink.distill.grpo_plot import curve_text, save_png
from localthink.distill.grpo_rollout import evaluate_policy
from localthink.distill.tasks import generate_tasks
from localthink.distill.train import load_student


class TimeUp(Exception):
    pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--student", required=True)
    ap.add_argument("--work", required=True, help="run folder (checkpoint, log)")
    ap.add_argument("--results", default="benchmarks/results/grpo_arith.json")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--loss", default="grpo")
    ap.add_argument("--eval-n", type=int, default=200)
    ap.add_argument("--save-every", type=int, default=5)
    ap.add_argument("--time-limit", type=float, default=1e9, help="seconds for this call")
    args = ap.parse_args()
    started = time.perf_counter()
    import torch

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    tasks = generate_tasks("arithmetic", 1000, seed=1, difficulty=0)
    held_out = [t for t in tasks if t.split == "test"][: args.eval_n]
    cfg = GRPOConfig(
        steps=args.steps,
        group=args.group,
        prompts_per_step=args.prompts,
        lr=args.lr,
        loss=args.loss,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        save_every=args.save_every,
    )
    state_path = work / "bench_state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    if "before" not in state:
        model, tok = load_student(args.student)
        model.to("cuda" if torch.cuda.is_available() else "cpu")
        t = time.perf_counter()
        state["before"] = evaluate_policy(model, tok, held_out, cfg)
        state["eval_s"] = time.perf_counter() - t
        state_path.write_text(json.dumps(state))
        del model
        print("before", state["before"], flush=True)

    def on_step(r: dict) -> None:
        print(json.dumps({k: v for k, v in r.items() if k != "total"}), flush=True)
        if time.perf_counter() - started > args.time_limit and r["step"] % cfg.save_every == 0:
            raise TimeUp

    try:
        result = grpo(tasks, args.student, work, cfg, resume=True, on_step=on_step)
    except TimeUp:
        print("time limit: checkpointed, run again to continue", flush=True)
        return
    history = result["history"]
    after = evaluate_policy(result["model"], result["tokenizer"], held_out, cfg)
    print("after", after, flush=True)
    every = max(1, len(history) // 50)
    out = {
        "what": "GRPO on SmolLM2-135M-Instruct (GGUF Q4_1 dequantised), arithmetic difficulty 0",
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.machine(),
        "torch": torch.__version__,
        "config": asdict(cfg),
        "train_tasks": sum(t.split == "train" for t in tasks),
        "held_out_tasks": len(held_out),
        "before": state["before"],
        "after": after,
        "mean_step_s": sum(r["step_s"] for r in history) / len(history),
        "mean_gen_s": sum(r["gen_s"] for r in history) / len(history),
        "curve": [
            {k: r[k] for k in ("step", "reward", "accuracy", "format_rate", "completion_tokens")}
            for r in history[::every]
        ],
    }
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(out, indent=2) + "\n")
    (results.with_suffix(".txt")).write_text(curve_text(history, color=False) + "\n")
    save_png(history, results.with_suffix(".png"))
    print(f"→ {results}")


if __name__ == "__main__":
    main()
