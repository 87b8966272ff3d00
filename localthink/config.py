"""Where localthink keeps its files, and the user's settings.

Everything lives under platformdirs' per-user directories unless LOCALTHINK_HOME
points somewhere else (tests and portable installs use that).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from localthink.errors import LocalthinkError

APP_NAME = "localthink"


@dataclass(frozen=True)
class Paths:
    """The directories and files localthink reads and writes."""

    data_dir: Path
    config_dir: Path

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "localthink.db"

    @property
    def settings_path(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def user_registry_path(self) -> Path:
        return self.config_dir / "models.toml"


def paths() -> Paths:
    """Paths for this process: LOCALTHINK_HOME if set, else platformdirs."""
    home = os.environ.get("LOCALTHINK_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(data_dir=root / "data", config_dir=root / "config")
    return Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
    )


@dataclass(frozen=True)
class Settings:
    """User settings from config.toml; environment variables win over the file."""

    default_model: str | None = None
    threads: int | None = None
    gpu_layers: int | None = None
    ctx: int | None = None


def load_settings(p: Paths | None = None) -> Settings:
    """Read config.toml (missing file = defaults); LOCALTHINK_MODEL overrides default_model."""
    p = p or paths()
    data: dict = {}
    if p.settings_path.exists():
        try:
            data = tomllib.loads(p.settings_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise LocalthinkError(f"{p.settings_path}: not valid TOML ({exc})") from None
    known = ("default_model", "threads", "gpu_layers", "ctx")
    for key in data:  # a typo is named, as in models.toml, not ignored
        if key not in known:
            raise LocalthinkError(
                f"{p.settings_path}: unknown key {key!r} (known: {', '.join(known)})"
            )
    model = data.get("default_model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise LocalthinkError(f"{p.settings_path}: default_model must be a model name or path")
    settings = Settings(**data)
    env_model = os.environ.get("LOCALTHINK_MODEL")
    if env_model:
        settings = Settings(**{**settings.__dict__, "default_model": env_model})
    return settings
