"""Turn what the user typed (a path, a registry name, nothing) into a GGUF on disk."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from localthink.config import Paths, load_settings, paths
from localthink.errors import ModelNotFoundError
from localthink.models.registry import ModelEntry, load_registry


@dataclass(frozen=True)
class LocalModel:
    """A GGUF present on this machine, with its registry entry when it has one."""

    name: str
    path: Path
    entry: ModelEntry | None

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class ResolvedModel:
    model: LocalModel
    how: str  # "path" | "name" | "configured" | "default"


def installed_path(entry: ModelEntry, p: Paths) -> Path | None:
    """Where a registry model is on disk: pulled into models_dir, or shipped by a package."""
    pulled = p.models_dir / entry.file
    if pulled.exists():
        return pulled
    return entry.bundled_path()


def local_models(p: Paths | None = None) -> list[LocalModel]:
    """Every GGUF localthink can run without a download: registry models and imported files."""
    p = p or paths()
    registry = load_registry(p)
    found: dict[Path, LocalModel] = {}
    for entry in registry.values():
        path = installed_path(entry, p)
        if path is not None:
            found[path.resolve()] = LocalModel(entry.name, path, entry)
    if p.models_dir.is_dir():
        by_file = {e.file: e for e in registry.values()}
        for path in sorted(p.models_dir.glob("*.gguf")):
            if path.resolve() not in found:
                entry = by_file.get(path.name)
                found[path.resolve()] = LocalModel(entry.name if entry else path.stem, path, entry)
    return sorted(found.values(), key=lambda m: m.name)


def entry_for_path(path: Path, p: Paths | None = None) -> ModelEntry | None:
    """The registry entry whose file name matches, for per-model defaults."""
    for entry in load_registry(p or paths()).values():
        if entry.file == path.name:
            return entry
    return None


def resolve_model(spec: str | None, p: Paths | None = None) -> ResolvedModel:
    """A path, a model name, the configured default, or the smallest local model."""
    p = p or paths()
    if not spec:
        configured = load_settings(p).default_model
        if configured:
            return ResolvedModel(resolve_model(configured, p).model, "configured")
        models = local_models(p)
        if not models:
            raise ModelNotFoundError(
                "no local model: run `localthink pull qwen3-0.6b` or pass --model PATH.gguf"
            )
        return ResolvedModel(min(models, key=lambda m: m.size_bytes), "default")
    as_path = Path(spec).expanduser()
    if as_path.exists() or spec.endswith(".gguf") or "/" in spec or "\\" in spec:
        if not as_path.exists():
            raise ModelNotFoundError(f"{spec}: no such file")
        return ResolvedModel(LocalModel(as_path.stem, as_path, entry_for_path(as_path, p)), "path")
    for model in local_models(p):
        if model.name == spec:
            return ResolvedModel(model, "name")
    registry = load_registry(p)
    if spec in registry:
        raise ModelNotFoundError(f"model {spec} is not installed: run `localthink pull {spec}`")
    known = sorted(set(registry) | {m.name for m in local_models(p)})
    close = difflib.get_close_matches(spec, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else " (see `localthink models`)"
    raise ModelNotFoundError(f"unknown model {spec!r}{hint}")
