"""One reply at a time: a queue in order, 503 past --queue, and a client that leaves
mid-stream stops its generation at once (shown by when the next request gets done)."""

from __future__ import annotations

import threading
import time

import httpx

from tests.serve.conftest import KEY

AUTH = {"Authorization": f"Bearer {KEY}"}
# a raw completion the model keeps counting for as long as it may
COUNTING = {
    "model": "smollm2-135m",
    "prompt": "Counting from 1 to 1000: 1, 2, 3, 4, 5, 6, 7,",
    "max_tokens": 1500,
    "temperature": 0,
    "stream": True,
}
QUICK = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}


def _read_chunks(lines, n: int) -> list[float]:
    """Arrival times of the next n SSE events from a response's `iter_lines()` (kept by the
    caller: dropping that iterator closes the connection)."""
    times = []
    for line in lines:
        if line.startswith("data: "):
            times.append(time.monotonic())
            if len(times) == n:
                break
    return times


def _seconds_per_token(h: httpx.Client) -> float:
    """The model's pace on this machine now, from a whole non-streamed reply: arrival times
    of streamed chunks cannot give it, since chunks the client had not read yet arrive
    together (CI once measured 12 µs a token that way)."""
    start = time.monotonic()
    r = h.post("/v1/completions", json={**COUNTING, "stream": False, "max_tokens": 120})
    took = time.monotonic() - start
    assert r.status_code == 200
    assert r.json()["usage"]["completion_tokens"] == 120  # it keeps counting: no early end
    return took / 120


def test_a_client_leaving_mid_stream_frees_the_model_at_once(server):
    with httpx.Client(base_url=server.url, timeout=120) as h:
        per_token = _seconds_per_token(h)
        with h.stream("POST", "/v1/completions", json=COUNTING) as long_reply:
            times = _read_chunks(long_reply.iter_lines(), 12)
        left = time.monotonic()  # the connection is closed here
        rest = (COUNTING["max_tokens"] - len(times)) * per_token  # had it gone on
        r = h.post("/v1/chat/completions", json=QUICK)
        waited = time.monotonic() - left
    assert r.status_code == 200
    assert len(times) == 12
    # the next reply did not wait for the rest of the abandoned one
    assert waited < 0.2 * rest, (waited, rest)


def test_queue_is_served_in_order_and_503_beyond_it(guarded):
    results: dict[str, httpx.Response] = {}

    def queued():
        with httpx.Client(base_url=guarded.url, timeout=120, headers=AUTH) as q:
            results["queued"] = q.post("/v1/chat/completions", json=QUICK)

    with httpx.Client(base_url=guarded.url, timeout=120, headers=AUTH) as h:
        with h.stream("POST", "/v1/completions", json=COUNTING) as long_reply:
            lines = long_reply.iter_lines()
            _read_chunks(lines, 3)  # generating now
            waiter = threading.Thread(target=queued)
            waiter.start()
            time.sleep(2)  # let it take the one place in the queue
            refused = None
            deadline = time.monotonic() + 60
            while refused is None and time.monotonic() < deadline and "queued" not in results:
                try:  # a short timeout: were this one queued itself, it leaves and retries
                    refused = h.post("/v1/chat/completions", json=QUICK, timeout=2)
                except httpx.TimeoutException:
                    continue
            assert "queued" not in results, results["queued"].text  # still behind the long one
            assert refused is not None and refused.status_code == 503
            assert int(refused.headers["retry-after"]) > 0
            assert refused.json()["error"]["code"] == "queue_full"
            # a request that could never be answered is told so at once, not 503
            empty = {**QUICK, "messages": []}
            assert h.post("/v1/chat/completions", json=empty, timeout=10).status_code == 400
        waiter.join(timeout=60)  # the long reply's client left: the queued one goes next
    assert results["queued"].status_code == 200


def test_ctrl_c_ends_the_streams_in_flight_and_the_server_cleanly(serve_home):
    import signal

    from tests.serve.server import ServeProcess

    s = ServeProcess(home=serve_home)
    try:
        with httpx.Client(base_url=s.url, timeout=120) as h:
            with h.stream("POST", "/v1/completions", json=COUNTING) as long_reply:
                lines = long_reply.iter_lines()
                _read_chunks(lines, 3)
                s.proc.send_signal(signal.SIGINT)
                rest = list(lines)  # the stream ends (cut short), it does not hang
            assert len(rest) < 2 * COUNTING["max_tokens"]
        assert s.proc.wait(timeout=60) == 0
    finally:
        s.stop()
    log = "".join(s.log)
    assert "Traceback" not in log and "ERROR" not in log, log
    assert log.rstrip().endswith("localthink serve: stopped")
