"""The user's own models.toml: imported GGUFs and per-model overrides. Never the curated file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w

from localthink.atomic import write_text
from localthink.config import Paths, paths
from localthink.errors import LocalthinkError, ModelNotFoundError
from localthink.models.gguf_file import read_gguf_info
from localthink.models.registry import load_registry


def _load(p: Paths) -> dict:
    if not p.user_registry_path.exists():
        return {}
    try:
        return tomllib.loads(p.user_registry_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LocalthinkError(f"{p.user_registry_path}: not valid TOML ({exc})") from None


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
    name = name or path.stem
    if ":" in name or "/" in name or not name.strip():
        raise LocalthinkError(f"{name!r}: a model name cannot contain ':' or '/'")
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
    data[name] = row
    _save(p, data)
    return {"name": name, **row, "chat_template": info.chat_template is not None}


def forget(name: str, p: Paths | None = None) -> Path:
    """Remove an imported model from the user registry (its file is left alone)."""
    p = p or paths()
    data = _load(p)
    if name not in data:
        raise ModelNotFoundError(f"{name} is not an imported model")
    row = data.pop(name)
    _save(p, data)
    return Path(row.get("path", ""))
