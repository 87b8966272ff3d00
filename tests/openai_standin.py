"""A stand-in OpenAI-compatible server on 127.0.0.1 for what a real one will not do on demand:
429s, 500s, dropped connections, slow replies, `reasoning_content` fields."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandInTeacher:
    def __init__(self) -> None:
        self.script: list[str] = []  # per request: "ok", "429", "500", "drop", "reasoning"
        self.default = "ok"
        self.delay = 0.0
        self.requests = 0
        self.lock = threading.Lock()

    def reply(self, body: dict, mode: str) -> dict:
        question = body["messages"][-1]["content"]
        found = re.search(r"\d+", question)
        number = found.group(0) if found else "0"
        message = {
            "role": "assistant",
            "content": f"<think>\nLet me think about {number}.\n</think>\n\n\\boxed{{{number}}}",
        }
        if mode == "reasoning":
            message = {
                "role": "assistant",
                "content": f"\\boxed{{{number}}}",
                "reasoning_content": f"Reasoning about {number}.",
            }
        return {
            "choices": [{"message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20},
        }

    def start(self) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with standin.lock:
                    standin.requests += 1
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
                data = json.dumps(standin.reply(body, mode)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
