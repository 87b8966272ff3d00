"""Start `localthink serve` as a user would: a child process on a free loopback port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path


class ServeProcess:
    """`python -m localthink serve --port 0 ARGS`; the port is read from its first line."""

    def __init__(self, *args: str, home: Path, env: dict | None = None, timeout: float = 60):
        self.home = home
        self.log: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "localthink", "serve", "--port", "0", *args],
            env={**os.environ, **(env or {}), "LOCALTHINK_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.append(line)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.url = found.group(1)
                break
        else:
            line = ""
        if not getattr(self, "url", None):
            self.stop()
            raise RuntimeError(f"localthink serve did not start: {''.join(self.log)}")
        # keep reading its log so the pipe never fills and blocks the server
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode
