"""Serve the app with uvicorn in a thread, as `proxgate serve` does, for tests over real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from app.cli import proxy_options
from app.config import Settings
from app.main import create_app


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class AppServer:
    """Proxgate on http://127.0.0.1:PORT in a background thread."""

    def __init__(self, settings: Settings, app: FastAPI | None = None, port: int | None = None) -> None:
        self.app = app or create_app(settings)
        # A port chosen beforehand when another server must know it first (the OpenID provider, tests/oidc_idp.py).
        self.port = port or free_port()
        # The proxy options of `proxgate serve`, so X-Forwarded-* is believed only as in production.
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            **proxy_options(settings),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="proxgate-app", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start; see the log above")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Ask uvicorn to shut down and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(30)
