"""A webhook and Apprise json:// receiver on loopback, for the notification tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """An HTTP server on loopback that keeps every POST it gets."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                owner.received.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, path: str, count: int, timeout: float = 15) -> list[tuple[dict[str, str], bytes]]:
        """The first `count` messages to this path."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [(h, b) for p, h, b in self.received if p == path]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{path}: {self.received}")

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
