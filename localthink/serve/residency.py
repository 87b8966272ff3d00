"""Which model the server holds: found by name only, loaded on first use, one at a time,
unloaded after its keep-alive has passed with no request (Ollama's behaviour)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from localthink.chat import OpenedModel, load_model
from localthink.engine.protocol import LoadOptions
from localthink.errors import ModelNotFoundError
from localthink.models.registry import load_registry
from localthink.models.resolve import LocalModel, ResolvedModel, local_models

LIST_TTL_S = 2.0  # a model imported or pulled while the server runs is seen this soon


@dataclass
class Loaded:
    opened: OpenedModel
    name: str
    loaded_at: float  # time.time(), for /api/ps
    last_used: float  # time.monotonic()
    keep_alive_s: float | None  # None: never unloaded for idleness


class ModelSlot:
    """The models a request may name, and the one loaded now.

    `find` runs on the event loop (it reads only the registry and the models folder);
    `use` and `unload` load or free a model and run under the server's reply gate,
    so one thread at a time touches the loaded engine.
    """

    def __init__(
        self,
        default: LocalModel | None,
        load_options: LoadOptions,
        keep_alive_s: float | None = 300.0,
    ) -> None:
        self.default = default  # the --model the server was started with, if any
        self.load_options = load_options
        self.keep_alive_s = keep_alive_s
        self.loaded: Loaded | None = None
        self._listed: tuple[float, list[LocalModel]] = (-LIST_TTL_S, [])

    def available(self) -> list[LocalModel]:
        """What `localthink models` lists as installed (registry, imported, distilled,
        dropped in the models folder), plus the model given on the command line.

        Read again at most every LIST_TTL_S: reading the registry and the caches takes
        a few milliseconds, which every request would otherwise add to its first token.
        """
        now = time.monotonic()
        if now - self._listed[0] < LIST_TTL_S:
            return self._listed[1]
        models = {m.name: m for m in local_models()}
        if self.default is not None:
            models.setdefault(self.default.name, self.default)
        listed = [models[name] for name in sorted(models)]
        self._listed = (now, listed)
        return listed

    def find(self, name: str | None) -> LocalModel:
        """A listed model by name (Ollama's `:latest` tag allowed); never a file path."""
        models = self.available()
        if not name:
            if self.default is not None:
                return self.default
            runnable = [m for m in models if m.runnable()]
            if not runnable:
                raise ModelNotFoundError("no local model: run `localthink pull qwen3-0.6b`")
            return min(runnable, key=lambda m: m.size_bytes)
        wanted = name.removesuffix(":latest")
        for model in models:
            if model.name == wanted:
                return model
        if wanted.partition(":")[0] in load_registry():
            raise ModelNotFoundError(
                f"model {name!r} is not downloaded: run `localthink pull {wanted}` on the server"
            )
        raise ModelNotFoundError(f"model {name!r} not found (GET /v1/models lists them)")

    def use(self, model: LocalModel, keep_alive_s: float | None | bool = False) -> OpenedModel:
        """The engine for `model`, loading it (and unloading another) when needed.
        `keep_alive_s`: a request's own keep-alive for it (False: the server's).

        The model runs in a child process, as in the chat app: in the server's own process
        the event loop took the GIL from generation at every token and a streaming client
        read 0.89 of `ask`'s tokens/s even at 1 thread (benchmarks/serve_overhead.py);
        from a child, 1.00. Unloading ends the child, so all its memory goes back."""
        if self.loaded is None or self.loaded.opened.resolved.model.path != model.path:
            self.unload()
            opened = load_model(ResolvedModel(model, "name"), self.load_options, subprocess=True)
            self.loaded = Loaded(opened, model.name, time.time(), 0.0, self.keep_alive_s)
        if keep_alive_s is not False:
            self.loaded.keep_alive_s = keep_alive_s
        self.loaded.last_used = time.monotonic()
        return self.loaded.opened

    def touch(self) -> None:
        """A reply just ended: the keep-alive counts from now."""
        if self.loaded is not None:
            self.loaded.last_used = time.monotonic()

    def expired(self, now: float | None = None) -> bool:
        loaded = self.loaded
        if loaded is None or loaded.keep_alive_s is None:
            return False
        now = time.monotonic() if now is None else now
        return now - loaded.last_used >= loaded.keep_alive_s

    def expires_at(self) -> float | None:
        """Wall-clock time the loaded model goes, for /api/ps (None: it stays)."""
        loaded = self.loaded
        if loaded is None or loaded.keep_alive_s is None:
            return None
        return time.time() + loaded.keep_alive_s - (time.monotonic() - loaded.last_used)

    def unload(self) -> None:
        if self.loaded is not None:
            loaded, self.loaded = self.loaded, None
            loaded.opened.engine.close()  # the model's process ends: its memory goes back


def parse_duration(text: str | int | float) -> float | None:
    """Ollama's keep-alive: seconds, or "30s" / "5m" / "1h"; negative = forever (None)."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        value = text.strip()
        for suffix in sorted(units, key=len, reverse=True):
            if value.endswith(suffix) and value[: -len(suffix)].strip():
                seconds = float(value[: -len(suffix)]) * units[suffix]
                break
        else:
            seconds = float(value)
    if seconds != seconds:  # NaN
        raise ValueError(f"{text!r} is not a duration")
    return None if seconds < 0 else seconds
