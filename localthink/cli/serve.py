"""`localthink serve`: the local models over OpenAI- and Ollama-compatible HTTP APIs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys

from localthink.cli.options import add_model_flags, load_options, positive
from localthink.errors import LocalthinkError

DEFAULT_PORT = 11435  # beside Ollama's 11434, so both can run
UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6, "mb": 10**6, "mib": 1 << 20}


def byte_size(text: str) -> int:
    """An argparse type: a size such as 1048576, 512KiB or 2MiB (at least 1 KiB)."""
    value = text.strip().lower()
    number = value.rstrip("abikm")
    unit = value[len(number) :]
    try:
        size = int(float(number) * UNITS[unit])
    except (ValueError, KeyError):
        size = 0
    if size < 1024:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size of at least 1 KiB (e.g. 2MiB)")
    return size


def keep_alive(text: str) -> float | None:
    from localthink.serve.residency import parse_duration

    try:
        return parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration (e.g. 30s, 5m, 1h, -1)"
        ) from None


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the local models over OpenAI- and Ollama-compatible HTTP APIs",
        description="OpenAI API at /v1, Ollama API at /api; thinking kept apart from the answer.",
    )
    add_model_flags(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)"
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("LOCALTHINK_API_KEY"),
        help="require Authorization: Bearer KEY (default: $LOCALTHINK_API_KEY)",
    )
    p.add_argument(
        "--keep-alive",
        type=keep_alive,
        default=300.0,
        help="unload a model after this long unused (default 5m; -1: never)",
    )
    p.add_argument(
        "--queue", type=positive, default=16, help="requests that may wait for a reply (default 16)"
    )
    p.add_argument(
        "--max-body", type=byte_size, default=1 << 20, help="largest request body (default 1MiB)"
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser pages from ORIGIN (repeatable; default: no CORS headers)",
    )
    p.add_argument("--record", action="store_true", help="keep API conversations in the chat store")
    p.set_defaults(run=run)


def _listen(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise LocalthinkError(f"--port {port} is not a port (0 to 65535)")
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except OSError as exc:
        raise LocalthinkError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, whose Ctrl+C also ends the streams in flight (uvicorn would
        wait for them, then cancel them with a traceback in its log)."""

        def __init__(self, config, gate) -> None:
            super().__init__(config)
            self.gate = gate

        def handle_exit(self, sig, frame) -> None:
            # a signal handler in the loop's own thread: hand the event to the loop
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_running_loop()
                loop.call_soon_threadsafe(self.gate.stopping.set)
            super().handle_exit(sig, frame)

    return Server


def _loopback(host: str) -> bool:
    from localthink.serve.guard import is_loopback

    try:
        addresses = {a[4][0] for a in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return all(is_loopback(a) for a in addresses)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from localthink.models.resolve import resolve_model
    from localthink.serve.app import ServeOptions, create_app
    from localthink.serve.replies import ReplyGate
    from localthink.serve.residency import ModelSlot
    from localthink.serve.work import AppState

    loopback = _loopback(args.host)
    if not loopback and not args.api_key:
        raise LocalthinkError(
            f"--host {args.host} opens the server to other machines: set --api-key"
            " (or LOCALTHINK_API_KEY) too"
        )
    default = resolve_model(args.model).model if args.model else None
    store = None
    if args.record:
        from localthink.store.db import open_store

        store = open_store()
    state = AppState(
        ModelSlot(default, load_options(args), args.keep_alive), ReplyGate(args.queue), store
    )
    app = create_app(
        state,
        ServeOptions(
            api_key=args.api_key,
            loopback_only=loopback,
            max_body=args.max_body,
            cors_origins=tuple(args.cors_origin),
        ),
    )
    Server = _server_class()  # noqa: N806 (uvicorn is imported only when serving)
    sock = _listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    logging.basicConfig(
        level=logging.INFO, format="localthink serve: %(message)s", stream=sys.stderr
    )
    print(
        f"localthink serve: listening on http://{shown}:{port}"
        f" (OpenAI API at /v1, Ollama API at /api)",
        flush=True,
    )
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    try:
        Server(config, state.gate).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn passes Ctrl+C on once it has shut down: a clean stop
        pass
    finally:
        if store is not None:
            store.close()
    print("localthink serve: stopped", file=sys.stderr)
    return 0
