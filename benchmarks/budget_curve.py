"""Accuracy and mean thinking tokens at thinking budgets 0 / 128 / 512 / 2048 / unlimited.

    python benchmarks/budget_curve.py [--model NAME_OR_PATH] [--questions FILE] [--max-tokens N]

With no --model, the largest local model is used (the "best" one this machine has).
Writes benchmarks/results/budget_curve.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from localthink.chat import Session, open_model
from localthink.cli.batch import read_questions
from localthink.engine.protocol import Done, SamplingParams
from localthink.models.resolve import local_models
from localthink.verify import is_correct

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "budget_curve.json"
BUDGETS = [0, 128, 512, 2048, None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--questions", type=Path, default=ROOT / "examples/questions/arithmetic.jsonl")
    ap.add_argument("--max-tokens", type=int, default=4096)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    spec = args.model or str(max(local_models(), key=lambda m: m.size_bytes).path)
    opened = open_model(spec)
    questions = read_questions(args.questions)
    curve = []
    for budget in BUDGETS:
        correct, thinking, started = 0, [], time.perf_counter()
        for q in questions:
            params = opened.params(
                SamplingParams(max_tokens=args.max_tokens, temperature=0.0, think_budget=budget)
            )
            session = Session(opened.engine, params, opened.system_prompt(None))
            done = [e for e in session.send(q["question"]) if isinstance(e, Done)][0]
            correct += is_correct(done.answer, q["answer"])
            thinking.append(done.stats.thinking_tokens)
        point = {
            "budget": budget,
            "accuracy": correct / len(questions),
            "mean_thinking_tokens": sum(thinking) / len(thinking),
            "max_thinking_tokens": max(thinking),
            "seconds": time.perf_counter() - started,
        }
        curve.append(point)
        label = "none" if budget is None else budget
        print(
            f"budget {label:>5}: accuracy {point['accuracy']:.0%}, "
            f"mean thinking {point['mean_thinking_tokens']:.0f} tok"
        )
    result = {
        "benchmark": "budget_curve",
        "model": opened.resolved.model.name,
        "questions": str(args.questions.relative_to(ROOT))
        if args.questions.is_relative_to(ROOT)
        else str(args.questions),
        "n_questions": len(questions),
        "curve": curve,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
