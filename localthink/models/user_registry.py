"""The user's own models.toml: imported GGUFs and per-model overrides. Never the curated file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from localthink.atomic import write_text
from localthink.config import Paths, paths
from localthink.errors import LocalthinkError, ModelNotFoundError
from localthink.models.gguf_file import read_gguf_info
from localthink.models.registry import (
    SAMPLING_KEYS,
    SETTABLE_KEYS,
    check_settings,
    curated_registry_path,
    load_registry,
    read_toml,
    settings_of,
)


def _load(p: Paths) -> dict:
    return read_toml(p.user_registry_path) if p.user_registry_path.exists() else {}


def _save(p: Paths, data: dict) -> None:
    p.user_registry_path.parent.mkdir(parents=True, exist_ok=True)
    write_text(p.user_registry_path, tomli_w.dumps(data))  # a crash never leaves half a registry


def import_gguf(
    path: str | Path, name: str | None = None, p: Paths | None = None, distilled: bool = False
) -> dict:
    """Register a local GGUF under a name (used in place, not copied); return what was read."""
    p = p or paths()
    path = Path(path).expanduser().resolve()
    info = read_gguf_info(path)  # one-line error for missing, empty, truncated, not-GGUF
    name = path.stem if name is None else name
    check_name(name)
    registry = load_registry(p)
    if name in registry and not registry[name].user:
        raise LocalthinkError(f"{name} is a curated model name; pick another with --name")
    row = {
        "path": str(path),
        "quant": info.quant,
        "architecture": info.architecture,
        "context_length": info.context_length,
        "about": f"imported from {path}",
    }
    if distilled:  # a student of an R1-style teacher: its think tags and sampling defaults
        row |= {
            "family": "distilled",
            "think_open": "<think>",
            "think_close": "</think>",
            "sampling": {"temperature": 0.6, "top_p": 0.95},
        }
    data = _load(p)
    # importing again under the same name (a new file, a retrained student) keeps the
    # user's settings; a default quant belonged to the old file
    before = data.get(name, {})
    kept = [k for k in SETTABLE_KEYS if k in before and k != "default_quant"]
    row |= {k: before[k] for k in kept if k not in SAMPLING_KEYS}
    if before.get("sampling"):
        row["sampling"] = {**row.get("sampling", {}), **before["sampling"]}
    data[name] = row
    _save(p, data)
    kept = [k for k in settings_of(before) if k != "default_quant"]
    return {"name": name, **row, "chat_template": info.chat_template is not None, "kept": kept}


def check_name(name: str) -> None:
    """A name `--model NAME` can find again: not a path, not NAME:QUANT, one visible word."""
    if not name or any(c in name for c in ":/\\") or name.endswith(".gguf"):
        raise LocalthinkError(
            f"{name!r} cannot be a model name: give one without ':', '/', '\\' or '.gguf'"
        )
    if not name.isprintable() or any(c.isspace() for c in name):
        raise LocalthinkError(f"{name!r} cannot be a model name: no spaces or control characters")


def forget(name: str, p: Paths | None = None) -> Path:
    """Remove an imported model from the user registry (its file is left alone)."""
    p = p or paths()
    data = _load(p)
    if name not in data:
        raise ModelNotFoundError(f"{name} is not an imported model")
    row = data.pop(name)
    _save(p, data)
    return Path(row.get("path", ""))


def parse_setting(text: str) -> tuple[str, Any]:
    """ "temperature=0.5" → ("temperature", 0.5): the value is read as TOML (numbers, true,
    "quoted"), or taken as a bare string (think_open=<reasoning>)."""
    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not key:
        raise LocalthinkError(f"{text!r}: give KEY=VALUE (settable: {', '.join(SETTABLE_KEYS)})")
    try:
        return key, tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value.strip()


def set_settings(name: str, settings: dict[str, Any], p: Paths | None = None) -> dict:
    """Store the user's settings for a registry model (curated or their own); return all
    of that model's settings now in force. Nothing is written when one of them is bad."""
    p = p or paths()
    registry = load_registry(p)
    if name not in registry:
        raise ModelNotFoundError(f"unknown model {name!r} (see `localthink models`)")
    data = _load(p)
    row = dict(data.get(name, {}))
    sampling = dict(row.get("sampling", {}))
    for key, value in settings.items():
        if key in SAMPLING_KEYS:
            sampling[key] = value
        else:
            row[key] = value
    if sampling:
        row["sampling"] = sampling
    check_settings(None, name, settings)
    quant = row.get("default_quant")
    if quant is not None and quant not in registry[name].quants:
        raise LocalthinkError(
            f"{name} has no {quant} quant (published: {', '.join(registry[name].quants)})"
        )
    data[name] = row
    _save(p, data)
    return settings_of(row)


def reset_settings(name: str, p: Paths | None = None) -> list[str]:
    """Back to the curated defaults: drop the user's table for a curated model, whatever it
    holds (so a broken one can be undone too); return the keys it set. (An imported model's
    row is its only definition: there is nothing underneath to go back to, so `set`
    changes it instead.)"""
    p = p or paths()
    data = _load(p)
    if name not in read_toml(curated_registry_path()):
        if name in data:
            raise LocalthinkError(
                f"{name} is your own model, with no curated defaults to go back to:"
                f" change a setting with `localthink set {name} KEY=VALUE`"
            )
        raise ModelNotFoundError(f"unknown model {name!r} (see `localthink models`)")
    row = data.pop(name, None)
    if not row:
        raise LocalthinkError(f"{name} has no settings of yours to reset")
    _save(p, data)
    return list(settings_of(row)) if isinstance(row, dict) else []
