"""Flags shared by every command that loads a model."""

from __future__ import annotations

import argparse
import math

from localthink.engine.protocol import LoadOptions, SamplingParams
from localthink.errors import LocalthinkError
from localthink.limits import MAX_THREADS, sampling_flag


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse turns the error into usage)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def not_negative(text: str) -> int:
    """An argparse type: a whole number of at least 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 0")
    return value


def positive_number(text: str) -> float:
    """An argparse type: a finite number above 0 (a learning rate, a count of epochs)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
    return value


def not_negative_number(text: str) -> float:
    """An argparse type: a finite number of at least 0 (a KL weight)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of at least 0")
    return value


def fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1")
    return value


def output_path(text: str) -> str:
    """An argparse type: an output file or folder named by the user (not empty)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an output path cannot be empty")
    return text


def thread_count(text: str) -> int:
    value = positive(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"{text!r}: llama.cpp takes at most {MAX_THREADS} threads")
    return value


def layer_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -2
    if value < -1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least -1 (all)")
    return value


def add_model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-m",
        "--model",
        help="registry name or path to a .gguf (default: configured or smallest local)",
    )
    p.add_argument(
        "--ctx", type=positive, help="context window in tokens (default: model's, at most 8192)"
    )
    p.add_argument(
        "--threads", type=thread_count, help="CPU threads (default: adapts while it runs)"
    )
    p.add_argument(
        "--gpu-layers",
        type=layer_count,
        help="layers to offload to the GPU (-1 = all; default: all when a GPU backend is built in)",
    )


def add_sampling_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-tokens",
        type=sampling_flag("max_tokens"),
        help="most tokens to generate (default: the model's, else 2048)",
    )
    p.add_argument(
        "--temperature",
        type=sampling_flag("temperature"),
        help="sampling temperature (default: the model's)",
    )
    p.add_argument(
        "--top-p", type=sampling_flag("top_p"), help="nucleus sampling (default: the model's)"
    )
    p.add_argument(
        "--top-k", type=sampling_flag("top_k"), help="top-k sampling (default: the model's)"
    )
    p.add_argument("--seed", type=int, help="random seed, for repeatable replies")
    p.add_argument("--system", help="system prompt (ignored for models that advise against one)")


def add_budget_flags(p: argparse.ArgumentParser, *, cap: bool = True) -> None:
    """--think-budget (unless the command has its own list of budgets), --min-think, --no-think."""
    if cap:
        p.add_argument(
            "--think-budget",
            type=not_negative,
            metavar="N",
            help="cap thinking at N tokens, then make the model answer (0 = no thinking)",
        )
    p.add_argument(
        "--min-think",
        type=positive,
        metavar="N",
        help="keep the model thinking for at least N tokens",
    )
    p.add_argument("--no-think", action="store_true", help="skip thinking (empty think block)")


def load_options(args: argparse.Namespace) -> LoadOptions:
    """The flags, else config.toml's `ctx`, `threads` and `gpu_layers`, else the engine's own."""
    from localthink.config import load_settings

    settings = load_settings()

    def pick(flag, setting, name: str, least: int, most: int | None = None):
        if flag is not None:
            return flag
        if setting is None:
            return None
        if not isinstance(setting, int) or isinstance(setting, bool) or setting < least:
            raise LocalthinkError(f"config.toml: {name} must be a whole number of at least {least}")
        if most is not None and setting > most:
            raise LocalthinkError(f"config.toml: {name} must be at most {most}")
        return setting

    return LoadOptions(
        n_ctx=pick(args.ctx, settings.ctx, "ctx", 1),
        n_threads=pick(args.threads, settings.threads, "threads", 1, MAX_THREADS),
        n_gpu_layers=pick(args.gpu_layers, settings.gpu_layers, "gpu_layers", -1),
    )


def sampling(args: argparse.Namespace) -> SamplingParams:
    return SamplingParams(
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        seed=args.seed,
        think_budget=getattr(args, "think_budget", None),
        min_think=getattr(args, "min_think", None),
        no_think=getattr(args, "no_think", False),
    )
