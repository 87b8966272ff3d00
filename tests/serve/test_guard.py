"""Security and bad input, over raw HTTP: each refusal is a shaped 4xx and the server goes on."""

from __future__ import annotations

import time

import httpx
import pytest

from localthink.store.db import Store
from tests.run_cli import localthink
from tests.serve.conftest import KEY, ORIGIN

AUTH = {"Authorization": f"Bearer {KEY}"}
CHAT = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}


def test_non_loopback_host_without_a_key_is_refused_in_one_line():
    r = localthink("serve", "--host", "0.0.0.0", "--port", "0", timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        "localthink: error: --host 0.0.0.0 opens the server to other machines:"
        " set --api-key (or LOCALTHINK_API_KEY) too"
    )


def test_a_port_in_use_is_one_line(server):
    r = localthink("serve", "--port", str(server.port), timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot listen on 127.0.0.1" in r.stderr


def test_every_route_but_version_needs_the_key(guarded):
    with httpx.Client(base_url=guarded.url, timeout=60) as h:
        assert h.get("/api/version").status_code == 200
        for method, path in [("GET", "/v1/models"), ("GET", "/api/tags"), ("POST", "/api/chat")]:
            r = h.request(method, path, json=CHAT)
            assert r.status_code == 401, path
        assert h.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = h.get("/v1/models", headers=AUTH)
        assert r.status_code == 200 and r.json()["data"]
        assert h.get("/v1/models").json()["error"]["type"] == "authentication_error"
        assert "error" in h.get("/api/tags").json()  # Ollama's shape on /api


def test_dns_rebinding_host_is_refused_on_loopback(server):
    with httpx.Client(base_url=server.url, timeout=60) as h:
        for host in ("evil.example", "evil.example:11435", "127.0.0.1.evil.example"):
            r = h.get("/v1/models", headers={"Host": host})
            assert r.status_code == 403, host
        for host in ("localhost", f"127.0.0.1:{server.port}", f"[::1]:{server.port}"):
            assert h.get("/v1/models", headers={"Host": host}).status_code == 200, host


def test_cors_headers_only_for_the_named_origin(server, guarded):
    with httpx.Client(timeout=60) as h:
        r = h.get(f"{server.url}/v1/models", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in r.headers
        r = h.get(f"{guarded.url}/v1/models", headers={"Origin": ORIGIN, **AUTH})
        assert r.headers["access-control-allow-origin"] == ORIGIN
        r = h.get(f"{guarded.url}/v1/models", headers={"Origin": "http://other.example", **AUTH})
        assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/v1/chat/completions", b"{not json", 400, "malformed JSON"),
        ("/v1/chat/completions", b'{"model": "smollm2-135m", "messages": "hi"}', 400, "messages"),
        ("/v1/chat/completions", b'{"model": "smollm2-135m", "messages": []}', 400, "empty"),
        (
            "/v1/chat/completions",
            b'{"model": "smollm2-135m", "messages": [{"role": "tool", "content": "x"}]}',
            400,
            "role",
        ),
        (
            "/v1/chat/completions",
            b'{"model": "smollm2-135m", "messages": [{"role": "user", "content": "x"}],'
            b' "max_tokens": "many"}',
            400,
            "max_tokens",
        ),
        ("/api/chat", b"[1, 2]", 400, "request body"),
        ("/api/generate", b'{"model": "smollm2-135m", "prompt": 5}', 400, "prompt"),
        ("/v1/nowhere", b"{}", 404, "no such route"),
    ],
)
def test_bad_requests_are_shaped_4xx_and_the_server_goes_on(server, path, body, status, words):
    with httpx.Client(base_url=server.url, timeout=60) as h:
        r = h.post(path, content=body)
        assert r.status_code == status
        error = r.json()["error"]
        message = error if path.startswith("/api/") else error["message"]
        assert words in message
        assert h.get("/api/version").status_code == 200


def test_a_body_over_max_body_is_413(guarded):
    with httpx.Client(base_url=guarded.url, timeout=60, headers=AUTH) as h:
        big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
        r = h.post("/v1/chat/completions", json=big)
        assert r.status_code == 413 and "--max-body" in r.json()["error"]["message"]

        def chunks():  # no Content-Length: counted as it arrives
            yield b'{"model": "smollm2-135m", "messages": [{"role": "user", "content": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}]}'

        r = h.post("/v1/chat/completions", content=chunks())
        assert r.status_code == 413


def test_recorded_replies_land_in_the_chat_store_as_api(guarded):
    with httpx.Client(base_url=guarded.url, timeout=120, headers=AUTH) as h:
        r = h.post(
            "/v1/chat/completions",
            json={**CHAT, "messages": [{"role": "user", "content": "Name a colour."}]},
        )
        assert r.status_code == 200
        answer = r.json()["choices"][0]["message"]["content"]
    with Store(guarded.home / "data" / "localthink.db") as store:
        convs = store.conversations(sources=("api",))
        assert convs, "no API conversation stored"
        messages = store.messages(convs[0].id)
        assert [m.role for m in messages] == ["user", "assistant"]
        assert messages[0].content == "Name a colour." and messages[1].content == answer
    r = localthink("stats", home=guarded.home, timeout=60)
    assert r.returncode == 0 and "smollm2-135m" in r.stdout


def test_the_model_is_unloaded_after_keep_alive(guarded):
    with httpx.Client(base_url=guarded.url, timeout=120, headers=AUTH) as h:
        assert (
            h.post("/api/generate", json={"model": "smollm2-135m", "prompt": ""}).json()[
                "done_reason"
            ]
            == "load"
        )
        assert [m["name"] for m in h.get("/api/ps").json()["models"]] == ["smollm2-135m"]
        deadline = time.monotonic() + 15
        while h.get("/api/ps").json()["models"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert h.get("/api/ps").json()["models"] == []  # gone after its 1 s keep-alive
