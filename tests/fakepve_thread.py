"""Serve a fake PVE on its own event loop in a daemon thread, for tests that drive it over HTTPS."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fakepve.certs import make_cert
from fakepve.server import FakePve, settle

T = TypeVar("T")
START_TIMEOUT = 30
# The API token the app under test uses on the fake.
TOKEN_ID = "root@pam!proxgate"
TOKEN_SECRET = "5ab0c1f8-0d2c-4a5e-9a53-8e0f7c4c2e11"


class ServedFake:
    """A FakePve listening on https://host:port, with its certificate and pinned fingerprint."""

    def __init__(self, pve: FakePve, directory: Path, host: str = "127.0.0.1") -> None:
        self.pve = pve
        pve.host, pve.port = host, 0
        certfile, keyfile, der = make_cert(str(directory), hosts=(host,))
        self.cafile = certfile
        digest = hashlib.sha256(der).hexdigest().upper()
        self.fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="fakepve", daemon=True)
        self.thread.start()
        self.call(pve.start(certfile, keyfile))

    @property
    def url(self) -> str:
        """The base URL, https://host:port."""
        return f"https://{self.pve.host}:{self.pve.port}"

    @property
    def address(self) -> str:
        """host:port, as PROXMOX_HOST takes it."""
        return f"{self.pve.host}:{self.pve.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the fake's loop (its async scenarios) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(START_TIMEOUT)

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this fake's certificate."""
        return ssl.create_default_context(cafile=self.cafile)

    def stop(self) -> None:
        """Finish running tasks, stop listening and end the thread."""
        try:
            self.call(settle())
            self.call(self.pve.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(START_TIMEOUT)
            if not self.thread.is_alive():
                self.loop.close()


class PveApi:
    """httpx against /api2/json with an API token; data() unwraps PVE's {"data": ...}."""

    def __init__(self, served: ServedFake, secret: str = TOKEN_SECRET) -> None:
        self.served = served
        self.http = httpx.Client(
            base_url=served.url + "/api2/json",
            verify=served.ssl_context(),
            headers={"Authorization": f"PVEAPIToken={TOKEN_ID}={secret}"},
            timeout=60,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw response."""
        return self.http.request(method, path, **kwargs)

    def data(self, method: str, path: str, **kwargs: Any) -> Any:
        """The data of a 200 answer."""
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()["data"]

    def wait(self, upid: str, timeout: float = 30) -> dict[str, Any]:
        """Poll the task until it stopped; its status."""
        node = upid.split(":")[1]
        deadline = time.monotonic() + timeout
        while True:
            status: dict[str, Any] = self.data("GET", f"/nodes/{node}/tasks/{upid}/status")
            if status["status"] == "stopped":
                return status
            assert time.monotonic() < deadline, f"task still running: {upid}"
            time.sleep(0.02)

    def log(self, upid: str) -> list[str]:
        """Every line of the task log."""
        node = upid.split(":")[1]
        return [
            line["t"] for line in self.data("GET", f"/nodes/{node}/tasks/{upid}/log", params={"limit": 0})
        ]

    def run(self, method: str, path: str, **kwargs: Any) -> tuple[dict[str, Any], list[str]]:
        """Start a task and wait for it: (status, log)."""
        upid = self.data(method, path, **kwargs)
        return self.wait(upid), self.log(upid)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
