"""Ollama's model routes: /api/version, /api/tags, /api/show, /api/ps."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from localthink import __version__
from localthink.models.gguf_file import read_gguf_info
from localthink.models.resolve import LocalModel
from localthink.serve.work import AppState

OLLAMA_VERSION = "0.12.0"  # the Ollama API level these routes follow


class ShowBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str | None = None
    name: str | None = None  # older clients


def _digest(model: LocalModel) -> str:
    """A stable id for the file (path, size, time): not a content hash, which would mean
    reading gigabytes on every listing."""
    try:
        stat = model.path.stat()
        key = f"{model.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        key = str(model.path)
    return hashlib.sha256(key.encode()).hexdigest()


def _details(model: LocalModel) -> dict:
    entry = model.entry
    return {
        "format": "gguf",
        "family": entry.family if entry else "",
        "families": [entry.family] if entry and entry.family else None,
        "parameter_size": entry.params if entry else "",
        "quantization_level": model.quant,
    }


def _tag(m: LocalModel) -> dict:
    try:
        modified = datetime.fromtimestamp(m.path.stat().st_mtime, UTC).isoformat()
    except OSError:
        modified = datetime.now(UTC).isoformat()
    return {
        "name": m.name,
        "model": m.name,
        "modified_at": modified,
        "size": m.size_bytes,
        "digest": _digest(m),
        "details": _details(m),
    }


def router(app_state: AppState) -> APIRouter:
    r = APIRouter()

    find = app_state.slot.find  # an unknown name: the app's LocalthinkError handler, 404

    @r.get("/api/version")
    async def version() -> dict:
        return {"version": OLLAMA_VERSION, "localthink": __version__}

    @r.get("/api/tags")
    async def tags() -> dict:
        return {"models": [_tag(m) for m in app_state.slot.available()]}

    @r.get("/api/ps")
    async def ps() -> dict:
        loaded = app_state.slot.loaded
        if loaded is None:
            return {"models": []}
        model = loaded.opened.resolved.model
        expires = app_state.slot.expires_at()
        return {
            "models": [
                {
                    **_tag(model),
                    "expires_at": datetime.fromtimestamp(expires, UTC).isoformat()
                    if expires is not None
                    else None,
                    "size_vram": 0
                    if loaded.opened.engine.info.backend == "CPU"
                    else model.size_bytes,
                    "context_length": loaded.opened.engine.info.n_ctx,
                }
            ]
        }

    @r.post("/api/show")
    async def show(body: ShowBody) -> dict:
        model = find(body.model or body.name)
        info = read_gguf_info(model.path)  # a broken file: the app's LocalthinkError handler
        arch = info.architecture
        return {
            "modelfile": f"FROM {model.name}\n",
            "parameters": "",
            "template": info.chat_template or "",
            "details": _details(model),
            "model_info": {
                "general.architecture": arch,
                "general.name": info.name,
                "general.parameter_count": info.n_params,
                f"{arch}.context_length": info.context_length,
            },
            "capabilities": ["completion", "thinking"],
            "modified_at": _tag(model)["modified_at"],
        }

    return r
