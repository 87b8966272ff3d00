"""`localthink distill run recipe.toml`: every stage in order, each skipped when its output
is already complete, so a killed run picks up where it stopped."""

from __future__ import annotations

import tomllib
from pathlib import Path

from localthink.distill.recipe_checks import check_recipe, spec_of
from localthink.errors import LocalthinkError


def _say(stage: str, text: str) -> None:
    print(f"[{stage}] {text}", flush=True)


def load_recipe(path: Path) -> dict:
    """The recipe, checked whole (keys, values, the models it names) before any stage runs."""
    try:
        recipe = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LocalthinkError(f"{path}: cannot read recipe ({exc})") from None
    for section in ("tasks", "teacher", "student"):
        if not isinstance(recipe.get(section), dict):
            raise LocalthinkError(f"{path}: recipe needs a [{section}] table")
    check_recipe(recipe, path)
    return recipe


def _written(path: Path) -> bool:
    """A stage's output that holds something: an empty file is not a finished stage."""
    return path.is_file() and bool(path.read_bytes().strip())


TRAINED_MARK = ".localthink-trained"


def _train_config(table: dict, path: Path):
    """The [train] table as a TrainConfig; an unknown key is named, not a TypeError."""
    from dataclasses import fields

    from localthink.distill.train import TrainConfig, train_config  # no torch imported here

    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise LocalthinkError(
            f"{path}: [train] has no {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return train_config(**table)


def _teacherspec_of(recipe: dict, work: Path) -> str:
    """The teacher, optionally given a chat template that opens <think> (a copy, in work/)."""
    t = recipe["teacher"]
    if not t.get("think_template"):
        return spec_of(recipe, "teacher", None)
    from converters.tokenizer import thinking_template
    from localthink.models.gguf_file import copy_gguf, read_gguf_info
    from localthink.models.resolve import resolve_model

    kind, _, rest = t["spec"].partition(":")
    src = resolve_model(rest).model.path
    dst = work / "teacher-thinking.gguf"
    if not dst.exists():
        template = read_gguf_info(src).chat_template or ""
        copy_gguf(src, dst, {"tokenizer.chat_template": thinking_template(template)})
    return f"gguf:{dst}"


def run_recipe(path: Path) -> Path:
    from converters import convert_checkpoint
    from converters.quantize import quantize
    from localthink.distill.tasks import generate_tasks, read_tasks, write_tasks
    from localthink.distill.teachers import make_teacher
    from localthink.distill.traces import run_traces
    from localthink.distill.verify import Filters, verify_traces
    from localthink.engine.protocol import SamplingParams
    from localthink.models.resolve import resolve_model
    from localthink.models.user_registry import import_gguf

    recipe = load_recipe(path)
    name = recipe.get("name", path.stem)
    work = (path.parent / recipe.get("workdir", f"{name}-work")).resolve()
    work.mkdir(parents=True, exist_ok=True)

    tasks_path = work / "tasks.jsonl"
    if not _written(tasks_path):  # an empty one (older runs wrote it for n = 0) is redone
        t = recipe["tasks"]
        write_tasks(
            generate_tasks(
                t.get("generator", "arithmetic"),
                t.get("n", 100),
                t.get("seed", 1),
                t.get("difficulty", 1),
            ),
            tasks_path,
        )
    tasks = read_tasks(tasks_path)
    _say("tasks", f"{len(tasks)} tasks in {tasks_path}")

    t = recipe["teacher"]
    teacher = make_teacher(_teacherspec_of(recipe, work), t.get("model"))
    params = SamplingParams(
        max_tokens=t.get("max_tokens", 2048),
        temperature=t.get("temperature", 0.6),
        top_p=t.get("top_p", 0.95),
        think_budget=t.get("think_budget"),
    )
    train_tasks = [x for x in tasks if x.split == "train"]
    written, skipped = run_traces(
        train_tasks,
        teacher,
        work / "traces.jsonl",
        t.get("samples", 4),
        params,
        t.get("concurrency", 1),
    )
    _say("traces", f"{written} new, {skipped} already done")

    v = recipe.get("verify", {})
    report = verify_traces(
        work / "traces.jsonl",
        work / "sft.jsonl",
        Filters(
            v.get("max_thinking_chars", 32_000),
            1,
            v.get("max_foreign_share", 0.05),
            v.get("check_answers", True),
        ),
    )
    _say("verify", f"kept {report.kept}/{report.seen}")
    if not report.kept:
        raise LocalthinkError("no trace passed verification: nothing to train on")

    from localthink.distill.train import train

    student_dir = work / "student"
    trained = student_dir / TRAINED_MARK  # written last: a save cut short is not "done"
    if not trained.exists():
        spec = spec_of(recipe, "student", path)
        student = str(resolve_model(spec).model.path) if not Path(spec).exists() else spec
        cfg = _train_config(recipe.get("train", {}), path)
        result = train(work / "sft.jsonl", student, student_dir, cfg, resume=True)
        history = result["history"]  # empty when a resume found the last step already done
        loss = f", final loss {history[-1]['loss']:.3f}" if history else ""
        n = result.get("dropped_too_long")
        dropped = f", {n} examples too long for max_len dropped" if n else ""
        _say("train", f"{result['steps']} steps{loss}{dropped}")
        trained.write_text("trained\n")
    else:
        _say("train", "done already")

    export = recipe.get("export", {})
    f16 = work / f"{name}-{export.get('outtype', 'f16')}.gguf"
    if not f16.exists():
        convert_checkpoint(
            student_dir,
            f16,
            export.get("outtype", "f16"),
            think_template=True,
            pre=export.get("pre"),  # as `distill convert --pre`: kept, a difference warned
        )
    final = f16
    for qtype in export.get("quants", []):
        q = work / f"{name}-{qtype}.gguf"
        if not q.exists():
            quantize(f16, q, qtype)
        final = q
    _say("export", str(final))
    import_gguf(final, name, distilled=True)
    _say("register", f"localthink --model {name}")

    ev = recipe.get("eval")
    if ev and (work / "eval.json").exists():
        _say("eval", f"done already: {work / 'eval.json'} (delete it to evaluate again)")
    elif ev:
        from localthink.distill.evaluate import evaluate, write_results
        from localthink.store.db import open_store

        test = [x for x in tasks if x.split == "test"][: ev.get("limit", 20)]
        if not test:
            test = tasks[: ev.get("limit", 20)]
            _say("eval", "the tasks have no test split: evaluating on training tasks")
        eval_params = SamplingParams(max_tokens=ev.get("max_tokens", 512))
        teacher_model = recipe["teacher"].get("model")  # for an openai: model in against
        with open_store() as store:
            results = [evaluate(name, test, ev.get("samples", 1), eval_params, store)]
            for other in ev.get("against", []):
                results.append(
                    evaluate(other, test, ev.get("samples", 1), eval_params, store, teacher_model)
                )
        write_results(results, work / "eval.json")
        for r in results:
            _say(
                "eval",
                f"{r.model}: pass@1 {r.pass_at_1:.1%}, thinking {r.mean_thinking_tokens:.0f}"
                f" tok, answer {r.mean_answer_tokens:.0f} tok",
            )
    return final
