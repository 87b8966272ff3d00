"""Turn what the user typed (a path, NAME[:QUANT], nothing) into a GGUF on disk."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from localthink.config import Paths, load_settings, paths
from localthink.errors import ModelNotFoundError
from localthink.models.registry import ModelEntry, QuantFile, load_registry


@dataclass(frozen=True)
class LocalModel:
    """A GGUF present on this machine, with its registry entry when it has one."""

    name: str
    path: Path
    entry: ModelEntry | None
    quant: str = ""

    @property
    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:  # a dangling link, a file removed since it was listed
            return 0

    def runnable(self) -> bool:
        """Worth picking as the default: a file that starts like a GGUF (not an empty or
        interrupted download, not a dangling link)."""
        try:
            with self.path.open("rb") as f:
                return f.read(4) == b"GGUF"
        except OSError:
            return False


@dataclass(frozen=True)
class ResolvedModel:
    model: LocalModel
    how: str  # "path" | "name" | "configured" | "default"


def split_spec(spec: str) -> tuple[str, str | None]:
    """ "name:Q4_K_M" → ("name", "Q4_K_M"); "name" → ("name", None)."""
    name, _, quant = spec.partition(":")
    return name, (quant or None)


def installed_path(entry: ModelEntry, q: QuantFile, p: Paths) -> Path | None:
    """Where one quant of a registry model is on disk, if anywhere."""
    if q.path:
        return Path(q.path) if Path(q.path).exists() else None
    dropped = p.models_dir / q.file
    if dropped.exists():
        return dropped
    if entry.bundled:
        return entry.bundled_path(q.quant)
    if entry.repo:
        from localthink.models.hub import cached_path

        return cached_path(entry.repo, q)
    return None


def display_name(entry: ModelEntry, quant: str) -> str:
    return entry.name if quant == entry.default_quant else f"{entry.name}:{quant}"


def local_models(p: Paths | None = None) -> list[LocalModel]:
    """Every GGUF localthink can run without a download."""
    p = p or paths()
    registry = load_registry(p)
    found: dict[Path, LocalModel] = {}
    for entry in registry.values():
        for q in entry.quants.values():
            path = installed_path(entry, q, p)
            if path is not None:
                found[path.resolve()] = LocalModel(
                    display_name(entry, q.quant), path, entry, q.quant
                )
    if p.models_dir.is_dir():
        for path in sorted(p.models_dir.glob("*.gguf")):
            found.setdefault(path.resolve(), LocalModel(path.stem, path, None))
    return sorted(found.values(), key=lambda m: m.name)


def pullable_models(p: Paths | None = None) -> list[tuple[ModelEntry, QuantFile]]:
    """Registry models on the Hub with none of their quants here, each with the quant
    `localthink pull NAME` would choose."""
    from localthink.models.fit import pick_quant

    p = p or paths()
    out = []
    for entry in load_registry(p).values():
        if entry.repo and not any(installed_path(entry, q, p) for q in entry.quants.values()):
            out.append((entry, pick_quant(entry)))
    return sorted(out, key=lambda eq: eq[0].name)


def entry_for_path(path: Path, p: Paths | None = None) -> ModelEntry | None:
    """The registry entry whose file name matches, for per-model defaults."""
    for entry in load_registry(p or paths()).values():
        if any(q.file == path.name for q in entry.quants.values()):
            return entry
    return None


def resolve_model(spec: str | None, p: Paths | None = None) -> ResolvedModel:
    """A path, NAME[:QUANT], the configured default, or the smallest local model."""
    p = p or paths()
    if not spec:
        configured = load_settings(p).default_model
        if configured:
            try:
                return ResolvedModel(resolve_model(configured, p).model, "configured")
            except ModelNotFoundError as exc:  # say where the name came from
                origin = (
                    "LOCALTHINK_MODEL"
                    if os.environ.get("LOCALTHINK_MODEL")
                    else (f"default_model in {p.settings_path}")
                )
                raise ModelNotFoundError(f"{exc} (from {origin})") from None
        models = [m for m in local_models(p) if m.runnable()]
        if not models:
            raise ModelNotFoundError(
                "no local model: run `localthink pull qwen3-0.6b` or pass --model PATH.gguf"
            )
        return ResolvedModel(min(models, key=lambda m: m.size_bytes), "default")
    as_path = Path(spec).expanduser()
    if as_path.exists() or spec.endswith(".gguf") or "/" in spec or "\\" in spec:
        if not as_path.exists():
            raise ModelNotFoundError(f"{spec}: no such file")
        entry = entry_for_path(as_path, p)
        return ResolvedModel(LocalModel(as_path.stem, as_path, entry), "path")
    name, quant = split_spec(spec)
    registry = load_registry(p)
    if name in registry:
        entry = registry[name]
        wanted = [entry.quant(quant)] if quant else [entry.quant(None), *entry.quants.values()]
        for q in wanted:
            path = installed_path(entry, q, p)
            if path is not None:
                return ResolvedModel(
                    LocalModel(display_name(entry, q.quant), path, entry, q.quant), "name"
                )
        gone = [q.path for q in wanted if q.path]
        if gone:  # imported or distilled: there is nothing to pull
            raise ModelNotFoundError(
                f"model {spec}: its file {gone[0]} is gone; import it again"
                f" (`localthink import FILE --name {name}`) or `localthink rm {name}`"
            )
        raise ModelNotFoundError(f"model {spec} is not downloaded: run `localthink pull {spec}`")
    for model in local_models(p):
        if model.name == spec:
            return ResolvedModel(model, "name")
    known = sorted(set(registry) | {m.name for m in local_models(p)})
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else " (see `localthink models`)"
    raise ModelNotFoundError(f"unknown model {spec!r}{hint}")
