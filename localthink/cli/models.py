"""`localthink models | pull | import | rm`: what is available, and managing it."""

from __future__ import annotations

import argparse
import sys

from localthink.errors import LocalthinkError, ModelNotFoundError


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list curated and local models")
    p.set_defaults(run=run_models)
    p = sub.add_parser("pull", help="download a model from the Hugging Face Hub (resumable)")
    p.add_argument("name", help="NAME or NAME:QUANT from `localthink models`")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_pull)
    p = sub.add_parser("import", help="use a local GGUF under a name")
    p.add_argument("path", help="a .gguf file (used where it lies, not copied)")
    p.add_argument("--name", help="name to use (default: the file name)")
    p.set_defaults(run=run_import)
    p = sub.add_parser("rm", help="delete a pulled model, or forget an imported one")
    p.add_argument("name", help="NAME[:QUANT]")
    p.set_defaults(run=run_rm)
    p = sub.add_parser(
        "set",
        help="change a model's defaults (sampling, system prompt, think tags, default quant)",
        description="Your settings for a model, kept in your own models.toml: the curated "
        "file is never changed. With no KEY=VALUE, show the model's settings.",
    )
    p.add_argument("name", help="a model name from `localthink models`")
    p.add_argument(
        "settings",
        nargs="*",
        metavar="KEY=VALUE",
        help="temperature, top_p, top_k, min_p, repeat_penalty, max_tokens, system_prompt, "
        "think_open, think_close, default_quant",
    )
    p.add_argument("--reset", action="store_true", help="back to the curated defaults")
    p.set_defaults(run=run_set)


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def run_models(args: argparse.Namespace) -> int:
    from localthink.config import paths
    from localthink.models.fit import fits, memory_bytes
    from localthink.models.registry import load_registry
    from localthink.models.resolve import installed_path, local_models

    p = paths()
    total, available = memory_bytes()
    print(f"{'NAME':<34} {'PARAMS':>6} {'QUANT':<7} {'SIZE':>9}  {'INSTALLED':<9} FITS")
    for entry in load_registry(p).values():
        for q in entry.quants.values():
            path = installed_path(entry, q, p)
            size = path.stat().st_size if path else q.size_bytes
            name = entry.name if q.quant == entry.default_quant else f"{entry.name}:{q.quant}"
            print(
                f"{name:<34} {entry.params:>6} {q.quant:<7} {_gb(size):>9}  "
                f"{'yes' if path else '-':<9} {'yes' if fits(size) else 'no'}"
            )
    registered = {m.path.resolve() for m in local_models(p) if m.entry is not None}
    for m in local_models(p):
        if m.entry is None and m.path.resolve() not in registered:
            print(
                f"{m.name:<34} {'':>6} {'?':<7} {_gb(m.size_bytes):>9}  {'yes':<9} "
                f"{'yes' if fits(m.size_bytes) else 'no'}"
            )
    print(
        f"\nmemory: {_gb(available)} free of {_gb(total)} · models: {p.models_dir} and the HF cache"
    )
    for entry in load_registry(p).values():
        if entry.overrides:
            print(f"your settings for {entry.name}: {_settings(entry.overrides)}")
    return 0


def _settings(settings: dict) -> str:
    return ", ".join(
        f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in settings.items()
    )


def run_pull(args: argparse.Namespace) -> int:
    from localthink.models.fit import pick_quant
    from localthink.models.hub import pull
    from localthink.models.registry import load_registry
    from localthink.models.resolve import split_spec

    name, quant = split_spec(args.name)
    registry = load_registry()
    if name not in registry:
        raise ModelNotFoundError(f"unknown model {name!r} (see `localthink models`)")
    entry = registry[name]
    q = entry.quant(quant) if quant else pick_quant(entry)
    print(
        f"pulling {entry.name}:{q.quant} ({q.file} from {entry.repo or entry.bundled})",
        file=sys.stderr,
    )
    try:
        path = pull(entry, q, progress=not args.quiet)
    except KeyboardInterrupt:
        raise LocalthinkError("pull interrupted; run the same command again to resume") from None
    print(f"ready: {path}", file=sys.stderr)
    print(f'try it: localthink ask --model {args.name} "What is 17*23?"', file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from localthink.models.user_registry import import_gguf

    row = import_gguf(args.path, args.name)
    template = (
        "has a chat template" if row["chat_template"] else "NO chat template (ChatML will be used)"
    )
    print(
        f"imported {row['name']}: {row['architecture']} {row['quant']}, "
        f"context {row['context_length']}, {template}"
    )
    if row["kept"]:
        print(f"kept your settings for {row['name']}: {', '.join(row['kept'])}")
    return 0


def run_rm(args: argparse.Namespace) -> int:
    from localthink.config import paths
    from localthink.models.hub import remove_cached
    from localthink.models.registry import load_registry
    from localthink.models.resolve import installed_path, split_spec
    from localthink.models.user_registry import forget

    name, quant = split_spec(args.name)
    registry = load_registry()
    if name not in registry:
        raise ModelNotFoundError(f"unknown model {name!r} (see `localthink models`)")
    entry = registry[name]
    if entry.user:
        if quant:
            entry.quant(quant)  # `rm mine:Q8_0` must not forget a Q4_1 `mine`
        kept = forget(name)
        print(f"forgot {name} (its file {kept} was left where it is)")
        return 0
    if entry.bundled:
        raise LocalthinkError(f"{name} comes with the {entry.bundled} package: pip uninstall it")
    quants = [entry.quant(quant)] if quant else list(entry.quants.values())
    removed = 0
    for q in quants:
        path = installed_path(entry, q, paths())
        if path is not None:
            remove_cached(path)
            removed += 1
            print(f"removed {entry.name}:{q.quant} ({path})")
    if not removed:
        raise ModelNotFoundError(f"{args.name} is not downloaded")
    return 0


def run_set(args: argparse.Namespace) -> int:
    from localthink.models.registry import load_registry
    from localthink.models.user_registry import parse_setting, reset_settings, set_settings

    if args.reset:
        if args.settings:
            raise LocalthinkError("give either --reset or KEY=VALUE settings, not both")
        gone = reset_settings(args.name)
        print(f"{args.name}: back to the curated defaults (dropped {', '.join(gone)})")
        return 0
    if args.settings:
        now = set_settings(args.name, dict(parse_setting(s) for s in args.settings))
        print(f"{args.name}: {_settings(now)}")
        return 0
    registry = load_registry()
    if args.name not in registry:
        raise ModelNotFoundError(f"unknown model {args.name!r} (see `localthink models`)")
    entry = registry[args.name]
    shown = {
        **entry.sampling,
        "system_prompt": entry.system_prompt,
        "think_open": entry.tags.open,
        "think_close": entry.tags.close,
        "default_quant": entry.default_quant,
    }
    for key, value in shown.items():
        mark = "  (yours)" if key in entry.overrides else ""
        print(f"{key:<21} {value}{mark}")
    return 0
