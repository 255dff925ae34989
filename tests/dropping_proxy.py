"""An HTTP proxy in a thread that loses one answer: the first POST under a path reaches the app, but the caller's
connection closes before the answer comes back, as a network that fails mid-request does."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# Hop-by-hop headers and those httpx has already applied (the body comes decoded, its length is set again).
NOT_FORWARDED = (
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "keep-alive",
)


class DroppingProxy:
    """Forwards every request to `target`; the first POST whose path starts with `drop_under` is carried out by
    the app and its answer dropped. `posts` lists each POST forwarded as (path, Idempotency-Key)."""

    def __init__(self, target: str, drop_under: str) -> None:
        self.target, self.drop_under = target, drop_under
        self.dropped = False
        self.posts: list[tuple[str, str | None]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.forward(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
                """Quiet: the test reads `posts`."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="dropping-proxy", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        """Send the request on and copy the answer back (or, the first time under drop_under, close instead)."""
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in NOT_FORWARDED}
        answer = httpx.request(
            handler.command, self.target + handler.path, content=body, headers=headers, timeout=30
        )
        if handler.command == "POST":
            self.posts.append((handler.path, handler.headers.get("Idempotency-Key")))
            if handler.path.startswith(self.drop_under) and not self.dropped:
                self.dropped = True
                handler.close_connection = True
                return
        handler.send_response(answer.status_code)
        for name, value in answer.headers.multi_items():
            if name.lower() not in NOT_FORWARDED:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
