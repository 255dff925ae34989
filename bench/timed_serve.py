"""`proxgate serve` for benchmarks: every answer carries `Server-Timing: total;dur=<ms>`, the app's whole time
from the request's arrival to its answer (middleware, sign-in, handler and template included).

    PROXMOX_HOST=… PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… .venv/bin/python bench/timed_serve.py --port PORT
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import uvicorn
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.config import load_settings  # noqa: E402
from app.main import create_app  # noqa: E402


class Timed:
    """ASGI wrapper adding the app's time to each response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                MutableHeaders(scope=message).append("Server-Timing", f"total;dur={elapsed:.1f}")
            await send(message)

        await self.app(scope, receive, timed)


def main() -> None:
    """Serve the app as `proxgate serve` does, timed, on 127.0.0.1:PORT."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    app = Timed(create_app(load_settings()))
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
