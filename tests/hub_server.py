"""A stand-in for the Hugging Face Hub's file endpoint, on 127.0.0.1, over real HTTP.

It answers what huggingface_hub's hf_hub_download asks: HEAD and GET on
/{repo}/resolve/{revision}/{file}, with X-Repo-Commit, ETag/X-Linked-Etag (the
sha256, as the Hub gives for LFS files), Content-Length and Range support; 404s
carry the Hub's X-Error-Code so the client raises its usual errors.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubFile:
    data: bytes
    sha256: str = ""  # what the headers claim; defaults to the data's own hash

    def __post_init__(self) -> None:
        self.sha256 = self.sha256 or hashlib.sha256(self.data).hexdigest()


@dataclass
class StandInHub:
    files: dict[tuple[str, str], HubFile] = field(default_factory=dict)
    bytes_per_second: float | None = None  # throttle GETs, to interrupt them mid-file
    drop_after: int | None = None  # the next GET hangs up after this many bytes
    # a GET waits after this many bytes until `resume` is set: an interrupt lands mid-file
    # however fast or slow the machine is
    pause_after: int | None = None
    resume: threading.Event = field(default_factory=threading.Event)
    fail_gets: list[int] = field(default_factory=list)  # the next GETs answer these statuses
    log: list[tuple[str, str, str | None, int]] = field(
        default_factory=list
    )  # method, path, Range, bytes sent

    def start(self) -> str:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _find(self) -> HubFile | None:
                parts = self.path.split("/")
                # /org/repo/resolve/rev/file
                if len(parts) < 6 or parts[3] != "resolve":
                    self._error(404, "RepoNotFound")
                    return None
                repo, filename = f"{parts[1]}/{parts[2]}", "/".join(parts[5:])
                if not any(r == repo for r, _ in hub.files):
                    self._error(404, "RepoNotFound")
                    return None
                if (repo, filename) not in hub.files:
                    self._error(404, "EntryNotFound")
                    return None
                return hub.files[(repo, filename)]

            def _error(self, status: int, code: str) -> None:
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _headers(self, f: HubFile, status: int, start: int) -> None:
                self.send_response(status)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{f.sha256}"')
                self.send_header("X-Linked-Etag", f'"{f.sha256}"')
                self.send_header("X-Linked-Size", str(len(f.data)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(f.data) - start))
                if status == 206:
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(f.data) - 1}/{len(f.data)}"
                    )
                self.end_headers()

            def do_HEAD(self) -> None:
                f = self._find()
                if f is not None:
                    self._headers(f, 200, 0)
                    hub.log.append(("HEAD", self.path, None, 0))

            def do_GET(self) -> None:
                f = self._find()
                if f is None:
                    return
                if hub.fail_gets:
                    status = hub.fail_gets.pop(0)
                    self._error(status, "Unavailable")
                    hub.log.append(("GET", self.path, self.headers.get("Range"), 0))
                    return
                rng = self.headers.get("Range")
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self._headers(f, 206 if rng else 200, start)
                sent, chunk = 0, 256 * 1024
                try:
                    for i in range(start, len(f.data), chunk):
                        piece = f.data[i : i + chunk]
                        self.wfile.write(piece)
                        sent += len(piece)
                        if hub.drop_after is not None and sent >= hub.drop_after:
                            hub.drop_after = None
                            self.close_connection = True
                            break
                        if hub.pause_after is not None and sent >= hub.pause_after:
                            hub.pause_after = None
                            hub.resume.wait(60)
                        if hub.bytes_per_second:
                            time.sleep(len(piece) / hub.bytes_per_second)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                hub.log.append(("GET", self.path, rng, sent))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
