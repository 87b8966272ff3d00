"""Errors as each API dialect shapes them: OpenAI's `{"error": {...}}` on /v1, Ollama's
`{"error": "..."}` on /api. Every refusal is logged in one line; none is a traceback."""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse

from localthink.errors import LocalthinkError, ModelNotFoundError, PromptTooLongError

log = logging.getLogger("localthink.serve")

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    503: "server_busy",
}


class ApiError(Exception):
    """A request the server refuses: an HTTP status and one line saying why."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


def api_error(exc: LocalthinkError) -> ApiError:
    """A user-caused error from the library, as the HTTP status that fits it."""
    if isinstance(exc, ModelNotFoundError):
        return ApiError(404, str(exc), "model_not_found")
    if isinstance(exc, PromptTooLongError):
        return ApiError(400, str(exc), "context_length_exceeded")
    return ApiError(400, str(exc))


def error_body(path: str, error: ApiError) -> dict:
    if path.startswith("/api/"):
        return {"error": error.message}
    return {
        "error": {
            "message": error.message,
            "type": _OPENAI_TYPES.get(error.status, "invalid_request_error"),
            "param": None,
            "code": error.code,
        }
    }


def error_response(path: str, error: ApiError) -> JSONResponse:
    log.warning("%s %s: %s", error.status, path, error.message)
    return JSONResponse(error_body(path, error), error.status, headers=error.headers)
