"""The ASGI app: both dialects over one model slot and one reply gate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from localthink.errors import LocalthinkError
from localthink.serve import ollama_api, ollama_info, openai_api
from localthink.serve.errors import ApiError, api_error, error_response
from localthink.serve.guard import Guard
from localthink.serve.replies import ClientGone
from localthink.serve.work import AppState

log = logging.getLogger("localthink.serve")


@dataclass(frozen=True)
class ServeOptions:
    api_key: str | None = None
    loopback_only: bool = True  # bound to 127.0.0.1/::1: refuse other Host headers
    max_body: int = 1 << 20
    cors_origins: tuple[str, ...] = ()


def _validation_message(exc: RequestValidationError) -> str:
    """Pydantic's first complaint, in one line naming the field."""
    errors = exc.errors()
    if not errors:
        return "malformed request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "malformed JSON in the request body"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    if not where:
        return f"request body: {first.get('msg', 'invalid')}"
    return f"{where}: {first.get('msg', 'invalid')}"


async def _unload_when_idle(state: AppState) -> None:
    """Ollama's keep-alive: free the model once it has gone unused long enough."""
    while True:
        await asyncio.sleep(0.25)
        if state.slot.expired() and not state.gate.busy:
            await state.gate.enter()
            try:
                if state.slot.expired():
                    name = state.slot.loaded.name if state.slot.loaded else "?"
                    await asyncio.to_thread(state.slot.unload)
                    log.info("unloaded %s (idle past its keep-alive)", name)
            finally:
                state.gate.leave()


def create_app(state: AppState, options: ServeOptions = ServeOptions()):
    """The FastAPI app, wrapped in the Guard (and CORS only when origins are named)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watcher = asyncio.create_task(_unload_when_idle(state))
        try:
            yield
        finally:
            watcher.cancel()
            # a reply cancelled by the shutdown ends at its next token: free the model after
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.gate.drain(), 10)
            state.slot.unload()

    app = FastAPI(
        title="localthink",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.include_router(openai_api.router(state))
    app.include_router(ollama_api.router(state))
    app.include_router(ollama_info.router(state))

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError):
        return error_response(request.url.path, exc)

    @app.exception_handler(LocalthinkError)
    async def on_user_error(request: Request, exc: LocalthinkError):
        return error_response(request.url.path, api_error(exc))

    @app.exception_handler(RequestValidationError)
    async def on_bad_body(request: Request, exc: RequestValidationError):
        return error_response(request.url.path, ApiError(400, _validation_message(exc)))

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException):
        message = "no such route" if exc.status_code == 404 else str(exc.detail)
        return error_response(request.url.path, ApiError(exc.status_code, message))

    @app.exception_handler(ClientGone)
    async def on_gone(request: Request, exc: ClientGone):
        log.info("client left %s before its reply started", request.url.path)
        return Response(status_code=499)

    wrapped = Guard(
        app,
        api_key=options.api_key,
        loopback_only=options.loopback_only,
        max_body=options.max_body,
    )
    if options.cors_origins:
        return CORSMiddleware(
            wrapped,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return wrapped
