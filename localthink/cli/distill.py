"""`localthink distill tasks | traces | verify`: the first half of building a student."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from localthink.cli.options import (
    fraction,
    not_negative,
    output_path,
    positive,
    positive_number,
)
from localthink.errors import LocalthinkError
from localthink.limits import sampling_flag


def add_parser(sub) -> None:
    p = sub.add_parser("distill", help="build your own small reasoning model")
    dsub = p.add_subparsers(dest="stage", metavar="STAGE", required=True)

    t = dsub.add_parser("tasks", help="generate verifiable problems as JSONL")
    t.add_argument("--generator", default="arithmetic", help="arithmetic, linear or countdown")
    t.add_argument("--n", type=positive, default=1000)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument(
        "--difficulty", type=int, default=1, help="1 (easy) … 5 (hard); arithmetic also 0"
    )
    t.add_argument("-o", "--output", required=True, type=output_path)
    t.add_argument("--force", action="store_true", help="replace an existing -o file")
    t.set_defaults(run=run_tasks)

    r = dsub.add_parser("traces", help="ask a teacher for reasoning traces (resumable)")
    r.add_argument("tasks")
    r.add_argument("-o", "--output", required=True, type=output_path)
    r.add_argument("--teacher", required=True, help="openai:URL or gguf:PATH_OR_NAME")
    r.add_argument("--model", help="model name on an openai: server")
    r.add_argument("--samples", type=positive, default=4, help="traces per task")
    r.add_argument("--concurrency", type=positive, default=4)
    r.add_argument("--temperature", type=sampling_flag("temperature"), default=0.6)
    r.add_argument("--top-p", type=sampling_flag("top_p"), default=0.95)
    r.add_argument("--max-tokens", type=positive, default=4096)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument(
        "--retries",
        type=not_negative,
        default=5,
        help="retries on 429/5xx/timeouts (backoff 1, 2, 4 … s)",
    )
    r.add_argument(
        "--timeout",
        type=positive,
        default=600,
        metavar="SECONDS",
        help="longest silence from an openai: server before a retry: between streamed chunks,"
        " or for a whole reply with --no-stream (default 600)",
    )
    r.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stream openai: replies, --timeout then bounds the gap between chunks "
        "(default; --no-stream for servers without it)",
    )
    r.add_argument("--split", default="train", choices=("train", "test", "all"))
    r.set_defaults(run=run_traces_cmd)

    v = dsub.add_parser("verify", help="keep verified-correct traces as SFT JSONL")
    v.add_argument("traces")
    v.add_argument("-o", "--output", required=True, type=output_path)
    v.add_argument("--max-thinking-chars", type=positive, default=32_000)
    v.add_argument("--max-foreign-share", type=fraction, default=0.05)
    v.set_defaults(run=run_verify)

    tr = dsub.add_parser("train", help="fine-tune the student on verified traces (SFT)")
    tr.add_argument("sft")
    tr.add_argument("--student", required=True, help="Hugging Face folder or .gguf")
    tr.add_argument(
        "-o", "--output", required=True, type=output_path, help="folder for the trained student"
    )
    tr.add_argument("--epochs", type=positive_number, default=2.0)
    tr.add_argument("--lr", type=positive_number, help="default 1e-5, or 2e-4 with --lora")
    tr.add_argument("--lora", action="store_true", help="train LoRA adapters, merged on save")
    tr.add_argument("--lora-rank", type=positive, default=16)
    tr.add_argument("--batch-size", type=positive, default=4, help="per GPU and micro-batch")
    tr.add_argument(
        "--grad-accum", type=positive, default=1, help="micro-batches per optimizer step"
    )
    tr.add_argument(
        "--compile", action="store_true", help="torch.compile the student (fastest on CUDA)"
    )
    tr.add_argument("--max-len", type=positive, default=4096)
    tr.add_argument("--max-steps", type=positive)
    tr.add_argument("--save-every", type=positive, default=50)
    tr.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    tr.set_defaults(run=run_train)

    e = dsub.add_parser("eval", help="pass@1 and thinking length on held-out tasks")
    e.add_argument("model", help="the student (name, path or .gguf)")
    e.add_argument("--tasks", required=True, help="tasks JSONL (its test split is used)")
    e.add_argument("--samples", type=positive, default=4, help="samples per task (pass@1 = mean)")
    e.add_argument(
        "--against",
        default="",
        help="comma-separated models to compare (base, teacher): NAME, PATH, gguf:NAME "
        "or openai:URL",
    )
    e.add_argument("--teacher-model", help="model name on an openai: server in --against")
    e.add_argument("--max-tokens", type=positive, default=2048)
    e.add_argument("--limit", type=positive, help="only the first N test tasks")
    e.set_defaults(run=run_eval)

    rr = dsub.add_parser("run", help="every stage from a recipe TOML (resumable)")
    rr.add_argument("recipe")
    rr.set_defaults(run=run_recipe)

    from localthink.cli.convert import add_export_parsers

    add_export_parsers(dsub)

    from localthink.cli.grpo import add_grpo_parser

    add_grpo_parser(dsub)


def run_tasks(args: argparse.Namespace) -> int:
    from localthink.distill.tasks import generate_tasks, write_tasks

    low = 0 if args.generator == "arithmetic" else 1
    if not low <= args.difficulty <= 5:
        raise LocalthinkError(f"--difficulty must be {low} to 5")
    out = Path(args.output)
    if out.is_file() and out.stat().st_size and not args.force:  # a pipe or device is fine
        raise LocalthinkError(f"{out} exists (use --force to replace it)")
    tasks = generate_tasks(args.generator, args.n, args.seed, args.difficulty)
    write_tasks(tasks, Path(args.output))
    test = sum(t.split == "test" for t in tasks)
    print(
        f"{len(tasks)} {args.generator} tasks → {args.output} ({len(tasks) - test} train, "
        f"{test} test)"
    )
    return 0


def run_traces_cmd(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from localthink.distill.tasks import read_tasks
    from localthink.distill.teachers import make_teacher
    from localthink.distill.traces import TracesInterrupted, run_traces
    from localthink.engine.protocol import SamplingParams

    tasks = read_tasks(Path(args.tasks))
    if args.split != "all":
        tasks = [t for t in tasks if t.split == args.split]
        if not tasks:
            raise LocalthinkError(f"{args.tasks}: no {args.split}-split tasks (--split all?)")
    teacher = make_teacher(
        args.teacher, args.model, retries=args.retries, timeout=args.timeout, stream=args.stream
    )
    params = SamplingParams(
        max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p
    )
    accepted = [0, 0]
    columns = (
        TextColumn("traces"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} samples/s · {task.fields[acc]} correct"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, transient=False, disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("traces", total=len(tasks) * args.samples, rate="-", acc="-")
            started = time.perf_counter()

            def on_record(record: dict) -> None:
                accepted[0] += bool(record["correct"])
                accepted[1] += 1
                elapsed = time.perf_counter() - started
                bar.update(
                    task,
                    advance=1,
                    rate=f"{accepted[1] / elapsed:.2f}",
                    acc=f"{accepted[0] / accepted[1]:.0%}",
                )

            written, skipped = run_traces(
                tasks,
                teacher,
                Path(args.output),
                args.samples,
                params,
                args.concurrency,
                args.seed,
                on_record,
            )
    except TracesInterrupted as exc:  # the bar is gone; the count tells the user where it stands
        print(f"\nlocalthink: {exc}", file=sys.stderr)
        return 130
    print(
        f"{written} new samples, {skipped} already done → {args.output}"
        + (f" ({accepted[0]}/{accepted[1]} correct)" if accepted[1] else "")
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from localthink.distill.verify import Filters, verify_traces

    report = verify_traces(
        Path(args.traces),
        Path(args.output),
        Filters(args.max_thinking_chars, 1, args.max_foreign_share),
    )
    print(f"kept {report.kept}/{report.seen} ({report.kept / report.seen:.0%}) → {args.output}")
    for kind, (kept, seen) in sorted(report.by_kind.items()):
        print(f"  {kind}: {kept}/{seen} accepted ({kept / seen:.0%})")
    for reason, n in sorted(report.reasons.items(), key=lambda kv: -kv[1]):
        print(f"  rejected, {reason}: {n}")

    def mean(xs):
        return f"{statistics.mean(xs):.0f}" if xs else "-"

    print(
        f"  mean thinking length: accepted {mean(report.kept_thinking)} chars, "
        f"rejected {mean(report.rejected_thinking)} chars"
    )
    return 0


def run_train(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from localthink.distill.train import train, train_config

    cfg = train_config(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        compile=args.compile,
        max_len=args.max_len,
        save_every=args.save_every,
        max_steps=args.max_steps,
        lora=args.lora,
        lora_rank=args.lora_rank,
    )
    columns = (
        TextColumn("train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]} · lr {task.fields[lr]} · {task.fields[tps]} tok/s"),
    )
    main = os.environ.get("RANK", "0") == "0"  # under `accelerate launch`, one reports
    if args.compile and main:
        print(
            "localthink: torch.compile compiles the student on the first step (a minute or "
            "two) and again for the first batch of another length",
            file=sys.stderr,
        )
    with Progress(*columns, disable=not (main and sys.stderr.isatty())) as bar:
        task = bar.add_task("train", total=None, loss="-", lr="-", tps="-")

        def on_step(r: dict) -> None:
            bar.update(
                task,
                completed=r["step"],
                total=r["total"],
                loss=f"{r['loss']:.3f}",
                lr=f"{r['lr']:.2e}",
                tps=f"{r['tokens_per_s']:.0f}",
            )

        result = train(Path(args.sft), args.student, Path(args.output), cfg, args.resume, on_step)
    if not main:
        return 0
    last = result["history"][-1] if result["history"] else {}
    on = f" on {result['processes']} processes" if result["processes"] > 1 else ""
    print(
        f"trained {result['steps']} steps{on} ({result['trainable_params'] / 1e6:.1f}M trainable "
        f"parameters) on {result['examples']} examples "
        f"({result['dropped_too_long']} dropped as too long); final loss "
        f"{last.get('loss', float('nan')):.3f} → {args.output}"
    )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from localthink.cli.progress import StageProgress
    from localthink.distill.evaluate import EvalInterrupted, check_spec, evaluate, write_results
    from localthink.distill.tasks import read_tasks
    from localthink.engine.protocol import SamplingParams
    from localthink.store.db import open_store

    if args.model.startswith("openai:"):  # its JSON goes next to it: it must be a local file
        raise LocalthinkError("the student is a local model; openai: belongs in --against")
    specs = [args.model] + [s.strip() for s in args.against.split(",") if s.strip()]
    for spec in specs:  # a typo in the last name must not wait for the first model's run
        check_spec(spec, args.teacher_model)
    every = read_tasks(Path(args.tasks))
    if not every:
        raise LocalthinkError(f"{args.tasks}: no tasks")
    tasks = [t for t in every if t.split == "test"]
    held_out = bool(tasks)
    if not held_out:
        print(
            f"localthink: warning: {args.tasks} has no test-split tasks: evaluating on its "
            f"{len(every)} training tasks, which are not held out",
            file=sys.stderr,
        )
        tasks = every
    tasks = tasks[: args.limit] if args.limit else tasks
    params = SamplingParams(max_tokens=args.max_tokens)
    target = Path(args.model.removeprefix("gguf:"))
    out = (target.parent if target.exists() else Path.cwd()) / f"{target.stem}.eval.json"
    results, interrupted = [], False
    with open_store() as store:
        for spec in specs:  # kept after each model: a dead teacher last loses no scores
            label = f"eval {spec.removeprefix('gguf:')}"
            try:
                with StageProgress(label, len(tasks) * args.samples) as progress:
                    result = evaluate(
                        spec, tasks, args.samples, params, store, args.teacher_model,
                        on_sample=progress.advance,
                    )  # fmt: skip
            except EvalInterrupted as stop:  # Ctrl+C: keep and show what was scored
                results.append(stop.partial)
                write_results(results, out)
                interrupted = True
                break
            except LocalthinkError as exc:
                if results:
                    raise LocalthinkError(f"{exc}; the scores so far are in {out}") from None
                raise
            except KeyboardInterrupt:  # before this model scored anything
                interrupted = True
                break
            results.append(result)
            write_results(results, out)
    kind = "held-out" if held_out else "training (not held-out)"
    title = f"{len(tasks)} {kind} tasks × {args.samples} samples"
    if interrupted:
        title += " (interrupted: the last row is partial, the rest not run)"
    table = Table(title=title, title_justify="left")
    for col in ("model", "pass@1", "scored", "mean thinking tok", "mean answer tok"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r.model,
            f"{r.pass_at_1:.1%}",
            str(r.scored),
            f"{r.mean_thinking_tokens:.0f}",
            f"{r.mean_answer_tokens:.0f}",
        )
    Console().print(table)
    if results:
        print(f"→ {out} (also in `localthink stats`)")
    return 130 if interrupted else 0


def run_recipe(args: argparse.Namespace) -> int:
    from localthink.distill.recipe import run_recipe as run

    run(Path(args.recipe))
    return 0
