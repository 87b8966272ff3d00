"""`localthink distill grpo`: reinforcement learning on the student, with a live log and a curve."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from localthink.atomic import write_text
from localthink.cli.options import not_negative_number, positive, positive_number
from localthink.errors import LocalthinkError
from localthink.limits import sampling_flag


def add_grpo_parser(dsub) -> None:
    g = dsub.add_parser("grpo", help="R1-Zero-style RL (GRPO) with rule-based rewards")
    g.add_argument("--student", required=True, help="Hugging Face folder or .gguf")
    g.add_argument("--tasks", required=True, help="tasks JSONL (train split used; test for --eval)")
    g.add_argument("-o", "--output", required=True, help="folder for the trained policy")
    g.add_argument("--group", type=positive, default=8, help="completions sampled per task")
    g.add_argument("--steps", type=positive, default=200)
    g.add_argument("--prompts-per-step", type=positive, default=4)
    g.add_argument(
        "--beta", type=not_negative_number, default=0.0, help="KL weight to the frozen student"
    )
    g.add_argument("--lr", type=positive_number, default=1e-6)
    g.add_argument("--loss", default="grpo", choices=("grpo", "dapo", "dr_grpo"))
    g.add_argument("--clip", type=positive_number, default=0.2, help="policy ratio clip ε")
    g.add_argument("--updates-per-batch", type=positive, default=1)
    g.add_argument("--max-new-tokens", type=positive, default=256)
    g.add_argument(  # GRPO learns from differences between samples: 0 would make none
        "--temperature", type=positive_number, default=1.0, help="sampling temperature (above 0)"
    )
    g.add_argument("--top-p", type=sampling_flag("top_p"), default=1.0)
    g.add_argument(
        "--reward",
        action="append",
        help="NAME[=WEIGHT], repeatable: accuracy, format or module:function "
        "(default: accuracy and format=0.5)",
    )
    g.add_argument("--save-every", type=positive, default=25)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--eval", type=int, default=0, metavar="N",
                   help="greedy accuracy on N held-out tasks before and after")  # fmt: skip
    g.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    g.set_defaults(run=run_grpo)


def step_line(r: dict) -> str:
    kl = f" · kl {r['kl']:.4f}" if r.get("kl") is not None else ""
    return (
        f"step {r['step']:>4}/{r['total']} · reward {r['reward']:.3f} · acc {r['accuracy']:.0%}"
        f" · format {r['format_rate']:.0%} · len {r['completion_tokens']:.0f}{kl}"
        f" · {r['step_s']:.1f} s"
    )


def run_grpo(args: argparse.Namespace) -> int:
    from localthink.distill.grpo import GRPOConfig, grpo
    from localthink.distill.grpo_plot import curve_text, save_png
    from localthink.distill.grpo_rollout import evaluate_policy
    from localthink.distill.tasks import read_tasks
    from localthink.distill.train import load_student

    tasks = read_tasks(Path(args.tasks))
    cfg = GRPOConfig(
        steps=args.steps,
        group=args.group,
        prompts_per_step=args.prompts_per_step,
        lr=args.lr,
        beta=args.beta,
        loss=args.loss,
        clip_eps=args.clip,
        updates_per_batch=args.updates_per_batch,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        save_every=args.save_every,
        seed=args.seed,
        rewards=args.reward or ["accuracy", "format=0.5"],
    )
    out = Path(args.output)
    held_out = [t for t in tasks if t.split == "test"][: args.eval]
    if args.eval and not held_out:
        raise LocalthinkError(f"{args.tasks}: no test-split tasks for --eval")
    evals_path = out / "grpo_eval.json"
    evals = json.loads(evals_path.read_text()) if evals_path.exists() and args.resume else {}
    # under `accelerate launch` every process trains; the first one evaluates and reports
    main = os.environ.get("RANK", "0") == "0"
    if held_out and "before" not in evals and main:
        import torch

        model, tok = load_student(args.student)
        model.to("cuda" if torch.cuda.is_available() else "cpu")  # where "after" runs too
        evals["before"] = evaluate_policy(model, tok, held_out, cfg)
        del model
        print(eval_line("before", evals["before"], len(held_out)), flush=True)
        out.mkdir(parents=True, exist_ok=True)  # kept, so a resumed run does not redo it
        write_text(evals_path, json.dumps(evals, indent=2) + "\n")
    result = grpo(
        tasks, args.student, out, cfg, args.resume, lambda r: print(step_line(r), flush=True)
    )
    if not main:
        return 0
    history = result["history"]
    if held_out:
        evals["after"] = evaluate_policy(result["model"], result["tokenizer"], held_out, cfg)
        print(eval_line("after", evals["after"], len(held_out)))
        out.mkdir(parents=True, exist_ok=True)
        write_text(evals_path, json.dumps(evals, indent=2) + "\n")
    if history:
        write_text(out / "grpo_curve.txt", curve_text(history, color=False) + "\n")
        print(curve_text(history, color=sys.stdout.isatty()))
        if save_png(history, out / "grpo_curve.png"):
            print(f"curve → {out / 'grpo_curve.png'}")
    print(
        f"{result['steps']} steps → {out} (log: {out / 'grpo_log.jsonl'}); "
        f"next: localthink distill convert {out} -o student.gguf --think-template"
    )
    return 0


def eval_line(label: str, e: dict, n: int) -> str:
    return (
        f"held-out {label}: accuracy {e['accuracy']:.1%} on {n} tasks · format "
        f"{e['format_rate']:.0%} · mean length {e['completion_tokens']:.0f} tokens"
    )
