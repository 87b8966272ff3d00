"""A stand-in OpenAI-compatible server on 127.0.0.1 for what a real one will not do on demand:
429s, 500s, dropped connections, slow replies, `reasoning_content` fields, cut streams."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandInTeacher:
    """Answers `stream: true` requests as server-sent events, others as one JSON body."""

    def __init__(self) -> None:
        # per request: "ok", "429", "500", "drop", "reasoning", "length" (thinking cut by the
        # token limit), "cut" (the reply breaks off halfway)
        self.script: list[str] = []
        self.default = "ok"
        self.delay = 0.0  # before anything is sent
        self.interval = 0.0  # between streamed events; a whole reply waits as long in total
        self.piece = 4  # characters per streamed delta
        self.stream_usage = True  # send usage last when the client asks with stream_options
        self.requests = 0
        self.bodies: list[dict] = []
        self.lock = threading.Lock()

    def reply(self, body: dict, mode: str) -> dict:
        question = body["messages"][-1]["content"]
        found = re.search(r"\d+", question)
        number = found.group(0) if found else "0"
        message = {
            "role": "assistant",
            "content": f"<think>\nLet me think about {number}.\n</think>\n\n\\boxed{{{number}}}",
        }
        finish = "stop"
        if mode == "reasoning":
            message = {
                "role": "assistant",
                "content": f"\\boxed{{{number}}}",
                "reasoning_content": f"Reasoning about {number}.",
            }
        if mode == "length":
            message, finish = (
                {"role": "assistant", "content": f"<think>\nLet me {number}"},
                "length",
            )
        return {
            "choices": [{"message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20},
        }

    def events(self, body: dict, data: dict) -> list[str]:
        """The reply as a streaming server sends it: role, deltas, finish, usage, [DONE]."""
        choice = data["choices"][0]
        message = choice["message"]

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            choices = [{"index": 0, "delta": delta, "finish_reason": finish}]
            return json.dumps({"object": "chat.completion.chunk", "choices": choices, **extra})

        out = [chunk({"role": "assistant", "content": ""})]
        for key in ("reasoning_content", "content"):
            text = message.get(key) or ""
            out += [chunk({key: text[i : i + self.piece]}) for i in range(0, len(text), self.piece)]
        out.append(chunk({}, choice["finish_reason"]))
        if self.stream_usage and (body.get("stream_options") or {}).get("include_usage"):
            out.append(json.dumps({"choices": [], "usage": data["usage"]}))
        return [*out, "[DONE]"]

    def start(self) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with standin.lock:
                    standin.requests += 1
                    standin.bodies.append(body)
                    mode = standin.script.pop(0) if standin.script else standin.default
                time.sleep(standin.delay)
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if mode in ("429", "500"):
                    self.send_response(int(mode))
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = standin.reply(body, mode)
                events = standin.events(body, data)
                try:
                    if body.get("stream"):
                        self.send_events(events[: len(events) // 2] if mode == "cut" else events)
                    else:
                        self.send_whole(data, len(events), cut=mode == "cut")
                except (BrokenPipeError, ConnectionResetError):  # the client gave up: its right
                    pass

            def send_events(self, events: list[str]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")  # HTTP/1.0: the body ends at close
                self.end_headers()
                for i, event in enumerate(events):
                    if i:
                        time.sleep(standin.interval)
                    self.wfile.write(f"data: {event}\n\n".encode())
                    self.wfile.flush()
                self.close_connection = True

            def send_whole(self, data: dict, events: int, cut: bool) -> None:
                time.sleep(standin.interval * (events - 1))  # generated as fast as a stream
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw[: len(raw) // 2] if cut else raw)
                if cut:
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
