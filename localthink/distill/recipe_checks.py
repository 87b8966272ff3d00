"""A recipe checked whole before any stage runs: every table, key and value, and every
model it names, so a typo costs no teacher time (recipe.py runs the stages)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from converters.quantize import TYPES as QUANT_TYPES
from converters.writer import OUTTYPES
from localthink.distill.tasks import GENERATORS
from localthink.errors import LocalthinkError
from localthink.limits import sampling_problem

Rule = Callable[[object], str | None]  # what is wrong with a value ("must be …"), or None


def _want(test: Callable[[object], bool], want: str) -> Rule:
    return lambda v: None if test(v) else f"must be {want}"


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _sampling(key: str) -> Rule:
    return lambda v: sampling_problem(key, v)


def _one_of(choices) -> Rule:
    return _want(lambda v: v in choices, f"one of {', '.join(choices)}")


def _list_of(test: Callable[[object], bool], want: str) -> Rule:
    return _want(lambda v: isinstance(v, list) and all(map(test, v)), f"a list of {want}")


TEXT = _want(lambda v: isinstance(v, str) and bool(v.strip()), "text")
FLAG = _want(lambda v: isinstance(v, bool), "true or false")
WHOLE = _want(_whole, "a whole number")
COUNT = _want(lambda v: _whole(v) and v >= 1, "a whole number of at least 1")
COUNT0 = _want(lambda v: _whole(v) and v >= 0, "a whole number of at least 0")
ABOVE_0 = _want(lambda v: _number(v) and v > 0, "a number above 0")
FRACTION = _want(lambda v: _number(v) and 0 <= v <= 1, "a number from 0 to 1")
DIFFICULTY = _want(lambda v: _whole(v) and 0 <= v <= 5, "a whole number from 0 to 5")
QUANTS = _list_of(
    lambda q: str(q).upper() in QUANT_TYPES, f"quant types ({', '.join(QUANT_TYPES)})"
)
MODELS = _list_of(lambda m: isinstance(m, str) and bool(m), "model names")

# Every key a recipe may hold, table by table ("" is the top level), so that a typo or a
# bad value fails before the first stage, not after hours of teacher time.
TABLES: dict[str, dict[str, Rule]] = {
    "": {"name": TEXT, "workdir": TEXT},
    "tasks": {
        "generator": _one_of(tuple(GENERATORS)),
        "n": COUNT,
        "seed": WHOLE,
        "difficulty": DIFFICULTY,
    },
    "teacher": {
        "spec": TEXT,
        "model": TEXT,
        "samples": COUNT,
        "concurrency": COUNT,
        "max_tokens": _sampling("max_tokens"),
        "temperature": _sampling("temperature"),
        "top_p": _sampling("top_p"),
        "think_budget": COUNT0,
        "think_template": FLAG,
    },
    "verify": {"check_answers": FLAG, "max_thinking_chars": COUNT, "max_foreign_share": FRACTION},
    "student": {"spec": TEXT},
    "train": {  # TrainConfig's fields
        "epochs": ABOVE_0,
        "lr": ABOVE_0,
        "batch_size": COUNT,
        "grad_accum": COUNT,
        "max_len": COUNT,
        "warmup": COUNT0,
        "save_every": COUNT,
        "seed": WHOLE,
        "max_steps": COUNT,
        "lora": FLAG,
        "lora_rank": COUNT,
        "lora_alpha": COUNT,
        "compile": FLAG,
    },
    "export": {"outtype": _one_of(OUTTYPES), "quants": QUANTS, "pre": TEXT},
    "eval": {
        "samples": COUNT,
        "limit": COUNT,
        "max_tokens": _sampling("max_tokens"),
        "against": MODELS,
    },
}


def _check_values(recipe: dict, path: Path) -> None:
    """Unknown tables and keys, and values of the wrong kind, each named in one line."""
    for table, rules in TABLES.items():
        values = recipe.get(table, {}) if table else recipe
        if not isinstance(values, dict):
            raise LocalthinkError(f"{path}: [{table}] must be a table, not {values!r}")
        subtables = [] if table else [t for t in TABLES if t]
        unknown = [
            f"[{k}]" if isinstance(v, dict) else k
            for k, v in values.items()
            if k not in rules and k not in subtables
        ]
        if unknown:
            known = [*rules, *(f"[{t}]" for t in subtables)]
            where = f"[{table}]" if table else "a recipe"
            raise LocalthinkError(
                f"{path}: {where} has no {', '.join(unknown)} (known: {', '.join(known)})"
            )
        for key, rule in rules.items():
            problem = rule(values[key]) if key in values else None
            if problem:
                where = f"[{table}] " if table else ""
                raise LocalthinkError(f"{path}: {where}{key} {problem}, not {values[key]!r}")


def check_recipe(recipe: dict, path: Path) -> None:
    """One line naming the file, table and key for the first thing wrong."""
    _check_values(recipe, path)
    for section in ("teacher", "student"):
        spec_of(recipe, section, path)
    _check_together(recipe, path)
    _check_models(recipe, path)


def spec_of(recipe: dict, section: str, path: Path | None) -> str:
    spec = recipe[section].get("spec")
    if not isinstance(spec, str) or not spec:
        raise LocalthinkError(f'{path or "recipe"}: [{section}] needs spec = "MODEL"')
    return spec


def _check_together(recipe: dict, path: Path) -> None:
    """What no single value shows: a name that cannot be registered, keys that clash."""
    from localthink.models.registry import load_registry
    from localthink.models.user_registry import check_name

    name = recipe.get("name", path.stem)
    where = "name" if "name" in recipe else "name (from the file name; set name = ...)"
    try:
        check_name(name)
    except LocalthinkError as exc:
        raise LocalthinkError(f"{path}: {where}: {exc}") from None
    entry = load_registry().get(name)
    if entry is not None and not entry.user:  # registering it would fail after training
        raise LocalthinkError(f"{path}: {where}: {name} is a curated model; pick another name")
    t = recipe["tasks"]
    generator, difficulty = t.get("generator", "arithmetic"), t.get("difficulty", 1)
    if difficulty < (0 if generator == "arithmetic" else 1):
        raise LocalthinkError(f"{path}: [tasks] difficulty 0 is for arithmetic only")
    teacher = recipe["teacher"]
    kind, _, rest = teacher["spec"].partition(":")
    if kind not in ("openai", "gguf") or not rest:
        raise LocalthinkError(
            f"{path}: [teacher] spec must be openai:URL or gguf:NAME_OR_PATH,"
            f" not {teacher['spec']!r}"
        )
    if teacher.get("think_template") and kind != "gguf":
        raise LocalthinkError(f"{path}: [teacher] think_template needs a gguf: teacher")


def _check_models(recipe: dict, path: Path) -> None:
    """Every model the recipe names is found now, not after hours of teacher time."""
    from localthink.distill.evaluate import check_spec
    from localthink.models.resolve import resolve_model

    model = recipe["teacher"].get("model")
    named = [("teacher", "spec", recipe["teacher"]["spec"])]
    named += [("eval", "against", s) for s in recipe.get("eval", {}).get("against", [])]
    for table, key, spec in named:
        if spec.startswith("openai:") and not model:
            raise LocalthinkError(
                f'{path}: [{table}] {key} {spec}: an openai: model needs [teacher] model = "NAME"'
            )
        try:
            check_spec(spec, model)
        except LocalthinkError as exc:
            raise LocalthinkError(f"{path}: [{table}] {key}: {exc}") from None
    spec = recipe["student"]["spec"]  # a Hugging Face folder, a .gguf or a model name
    student = Path(spec)
    if student.exists() and not (student.suffix == ".gguf" or (student / "config.json").exists()):
        raise LocalthinkError(
            f"{path}: [student] spec: {student} is not a Hugging Face model folder or a .gguf file"
        )
    try:
        resolve_model(spec)
    except LocalthinkError as exc:
        raise LocalthinkError(f"{path}: [student] spec: {exc}") from None
