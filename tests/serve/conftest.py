"""Servers for the serve tests: real `localthink serve` children on free loopback ports,
over the real SmolLM2 GGUF and a copy whose template opens <think>."""

from __future__ import annotations

import shutil

import pytest

from tests.serve.server import ServeProcess

KEY = "sekrit-key-123"
ORIGIN = "http://allowed.example"


@pytest.fixture(scope="module")
def serve_home(tmp_path_factory, think_gguf):
    home = tmp_path_factory.mktemp("serve-home")
    models = home / "data" / "models"
    models.mkdir(parents=True)
    shutil.copy(think_gguf, models / "smollm2-think.gguf")  # listed as smollm2-think
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def server(serve_home):
    """The plain server: no key, default queue and keep-alive."""
    s = ServeProcess("--ctx", "2048", "--threads", "2", home=serve_home)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def guarded(serve_home):
    """A server with a key, one CORS origin, recording, a 1 s keep-alive and a queue of 1."""
    s = ServeProcess(
        "--ctx",
        "2048",
        "--api-key",
        KEY,
        "--cors-origin",
        ORIGIN,
        "--record",
        "--keep-alive",
        "1s",
        "--queue",
        "1",
        "--max-body",
        "4KiB",
        home=serve_home,
    )
    yield s
    s.stop()
