"""`distill grpo` on 1 and 2 GPUs: steps/s, rollout share and tokens/s, held-out accuracy.

The settings of benchmarks/grpo_arith.py (SmolLM2-135M, arithmetic difficulty 0, 16 prompts
× 8 samples, 256 new tokens, lr 1e-5, temperature 0.7) and the same global batch, seed
and step count for every process count. Each count runs `distill grpo`'s own loop, under
`accelerate launch --num_processes N` when N > 1; a count this machine has too few GPUs
for is listed under `not_run`, not measured. `--plain-rollouts` adds a row per count with
the rollouts decoded as before this change (dynamic KV cache, nothing compiled).

    python benchmarks/grpo_scale.py --student SmolLM2.gguf --work /tmp/scale --gpus 1,2

On CPU (to check it runs): --cpu --gpus 1,2 --steps 2 --prompts 2 --group 2 --max-new-tokens 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from localthink.distill import grpo_rollout
from localthink.distill.grpo import GRPOConfig, grpo
from localthink.distill.tasks import generate_tasks
from localthink.distill.train import load_student

WARMUP = 5  # steps left out of the rates: the first compiles the rollouts' decoding step
SAVE_EVERY = 10


class TimeUp(Exception):
    pass


def rates(history: list[dict], warmup: int) -> dict:
    timed = history[warmup:] or history
    step_s = sum(r["step_s"] for r in timed)
    gen_s = sum(r["gen_s"] for r in timed)
    return {
        "steps_per_s": len(timed) / step_s,
        "rollout_share": gen_s / step_s,
        "rollout_tokens_per_s": sum(r["rollout_tokens"] for r in timed) / gen_s,
        "mean_step_s": step_s / len(timed),
        "mean_gen_s": gen_s / len(timed),
        "timed_steps": len(timed),
    }


def worker(args) -> None:
    """One run of the loop (in each process of a launch); the main one writes the row."""
    import torch

    if args.plain_rollouts:
        grpo_rollout.static_cache = lambda model: False
    tasks = generate_tasks("arithmetic", 1000, seed=1, difficulty=0)
    held_out = [t for t in tasks if t.split == "test"][: args.eval_n]
    cfg = GRPOConfig(steps=args.steps, group=args.group, prompts_per_step=args.prompts,
                     lr=args.lr, max_new_tokens=args.max_new_tokens,
                     temperature=args.temperature, save_every=SAVE_EVERY,
                     rewards=args.reward or ["accuracy", "format=0.5"])  # fmt: skip
    started = time.perf_counter()
    history = []

    def on_step(r: dict) -> None:  # the main process only
        history.append(r)
        late = time.perf_counter() - started > args.time_limit
        if late and r["step"] % SAVE_EVERY == 0 and r["processes"] == 1:
            raise TimeUp  # just after a checkpoint: the policy it holds is evaluated

    try:
        result = grpo(tasks, args.student, Path(args.work), cfg, on_step=on_step)
        main, model, tok = result["main"], result["model"], result["tokenizer"]
    except TimeUp:
        main, (model, tok) = True, load_student(str(Path(args.work) / "checkpoint"))
        model.to("cuda" if torch.cuda.is_available() else "cpu")
    wall_s = time.perf_counter() - started
    if not main:
        return
    after = grpo_rollout.evaluate_policy(model, tok, held_out, cfg)
    fast = grpo_rollout.static_cache(model)
    row = {
        "gpus": history[-1]["processes"] if torch.cuda.is_available() else 0,
        "processes": history[-1]["processes"],
        "rollouts": "static cache, compiled" if fast else "dynamic cache",
        "steps": history[-1]["step"],
        "steps_asked": args.steps,
        **rates(history, min(WARMUP, len(history) - 1)),
        "wall_s": wall_s,
        "heldout_accuracy": after["accuracy"],
        "heldout_format_rate": after["format_rate"],
        "heldout_completion_tokens": after["completion_tokens"],
        "heldout_tasks": len(held_out),
        "train_accuracy_last10": sum(r["accuracy"] for r in history[-10:]) / len(history[-10:]),
        "examples": after["examples"],
        "curve": [
            {
                k: r[k]
                for k in ("step", "reward", "accuracy", "completion_tokens", "gen_s", "step_s")
            }
            for r in history
        ],  # fmt: skip
    }
    Path(args.row).write_text(json.dumps(row, indent=2) + "\n")


def launch(n: int, args, plain: bool, work: Path) -> dict:
    row = work / f"row_{n}{'_plain' if plain else ''}.json"
    run = work / row.stem
    flags = ["--worker", "--row", str(row), "--work", str(run), "--student", args.student]
    for k in ("steps", "group", "prompts", "max_new_tokens", "lr", "temperature", "eval_n",
              "time_limit"):  # fmt: skip
        flags += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    for reward in args.reward or []:
        flags += ["--reward", reward]
    flags += ["--plain-rollouts"] if plain else []
    me = [os.path.abspath(__file__)]
    if n == 1:
        cmd = [sys.executable, *me, *flags]
    elif args.cpu:  # `accelerate launch --cpu --num_processes 2` started one process here
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n),
               *me, *flags]  # fmt: skip
    else:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(n),
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               *me, *flags]  # fmt: skip
    root = str(Path(__file__).resolve().parents[1])  # localthink, from a checkout too
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", "NCCL_NVLS_ENABLE": "0",
           "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}  # fmt: skip
    if args.cpu:
        env.update(ACCELERATE_USE_CPU="1", CUDA_VISIBLE_DEVICES="")
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True)
    return json.loads(row.read_text())


def versions() -> dict:
    import accelerate
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "accelerate": accelerate.__version__, "python": platform.python_version()}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--student", required=True)
    ap.add_argument("--work", required=True, help="run folders")
    ap.add_argument("--results", default="benchmarks/results/grpo_scale.json")
    ap.add_argument("--gpus", default="1,2", help="process counts, one run each")
    ap.add_argument("--plain-rollouts", action="store_true", help="with --worker: as before")
    ap.add_argument("--also-plain", action="store_true", help="add a dynamic-cache row per count")
    ap.add_argument("--cpu", action="store_true", help="CPU processes (gloo): a check, no figures")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--plain-steps", type=int, default=15, help="steps of the --also-plain rows")
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--eval-n", type=int, default=100)
    ap.add_argument("--reward", action="append", help="as distill grpo's --reward")
    ap.add_argument("--time-limit", type=float, default=1e9,
                    help="one process: stop at a checkpoint after this many seconds")  # fmt: skip
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--row")
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    import torch

    have = os.cpu_count() if args.cpu else torch.cuda.device_count()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = Path(args.results)
    out = {
        "what": "distill grpo, SmolLM2-135M-Instruct (GGUF Q4_1 dequantised), arithmetic "
        f"difficulty 0; global batch {args.prompts} prompts x {args.group} samples, "
        f"{args.max_new_tokens} new tokens, lr {args.lr}, temperature {args.temperature}, "
        f"seed 0; rates over the steps after the first {WARMUP}",
        "device": "cpu" if args.cpu else torch.cuda.get_device_name(),
        "versions": versions(),
        "rows": [],
        "not_run": [],
    }
    steps = args.steps
    for n in (int(x) for x in args.gpus.split(",")):
        if n > have:
            out["not_run"].append({"gpus": n, "why": f"this machine has {have} GPU(s)"})
            continue
        counted = argparse.Namespace(**{**vars(args), "steps": steps})
        plain_args = argparse.Namespace(**{**vars(args), "steps": args.plain_steps})
        runs = [(counted, False)] + ([(plain_args, True)] if args.also_plain else [])
        for run_args, plain in runs:
            out["rows"].append(launch(n, run_args, plain, work))
            # a first run stopped by --time-limit: the later counts take as many steps
            steps = min(steps, out["rows"][0]["steps"])
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(json.dumps(out, indent=2) + "\n")  # kept if a later run fails
    results.write_text(json.dumps(out, indent=2) + "\n")
    for r in out["rows"]:
        print(f"{r['processes']} proc {r['rollouts']:>22}: {r['steps']} steps, "
              f"{r['steps_per_s']:.3f} steps/s, rollout {r['rollout_share']:.0%} of the step, "
              f"{r['rollout_tokens_per_s']:.0f} rollout tok/s, "
              f"held-out {r['heldout_accuracy']:.2f}")  # fmt: skip
    print(f"→ {results}")


if __name__ == "__main__":
    main()
