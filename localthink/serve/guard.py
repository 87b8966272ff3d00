"""Checks every request passes before any route sees it: the Host header on a loopback
bind (DNS rebinding: Ollama's CVE-2024-28224), the API key, and the body's size.

A pure ASGI middleware, not Starlette's BaseHTTPMiddleware, which would buffer streamed
replies and hide a client's disconnect from them.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from localthink.serve.errors import ApiError, error_response

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
OPEN_PATHS = {"/api/version"}  # answered without a key (clients probe it first)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a Host header, without its port ("[::1]:8080" → "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    def __init__(
        self, app: ASGIApp, *, api_key: str | None, loopback_only: bool, max_body: int
    ) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.loopback_only = loopback_only
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            self._check(path, headers)
            body = await self._read_body(headers, receive)
        except ApiError as error:
            await error_response(path, error)(scope, receive, send)
            return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if scope["method"] == "POST":  # curl -d and some clients send no JSON content type
            scope = dict(scope)
            scope["headers"] = [
                *((k, v) for k, v in scope["headers"] if k.lower() != b"content-type"),
                (b"content-type", b"application/json"),
            ]
        await self.app(scope, replay, send)

    def _check(self, path: str, headers: dict[str, str]) -> None:
        if self.loopback_only and host_name(headers.get("host", "")) not in LOOPBACK_NAMES:
            raise ApiError(403, "this server answers only requests addressed to localhost")
        if self.api_key is None or path in OPEN_PATHS:
            return
        scheme, _, token = headers.get("authorization", "").partition(" ")
        given = token.strip().encode() if scheme.lower() == "bearer" else b""
        if not hmac.compare_digest(given, self.api_key):
            raise ApiError(401, "missing or wrong API key (send Authorization: Bearer KEY)")

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        too_big = ApiError(413, f"request body is over {self.max_body} bytes (--max-body)")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            raise too_big
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise too_big
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)
