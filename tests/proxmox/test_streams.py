"""The client's connection pool on asyncio streams: a connection the server closed while idle is never reused."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakepve.certs import make_cert

from app.proxmox import PveClient, PveConnection
from app.proxmox.tls import fingerprint_of
from tests.proxmox.conftest import TOKEN_ID, TOKEN_SECRET

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"data":"ok"}'


class ClosingServer:
    """Answers one request per connection as keep-alive (no `Connection: close`), then closes the connection, as
    a server does with an idle connection when its keep-alive time is up."""

    def __init__(self, directory: Path) -> None:
        certfile, keyfile, der = make_cert(str(directory), name="closing", hosts=("127.0.0.1",))
        self.fingerprint = fingerprint_of(der)
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(certfile, keyfile)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.closed = threading.Semaphore(0)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="closing-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with self._ctx.wrap_socket(conn, server_side=True) as tls:
                    data = b""
                    while b"\r\n\r\n" not in data and (chunk := tls.recv(65536)):
                        data += chunk
                    self.requests.append(data)
                    tls.sendall(ANSWER)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()
                self.closed.release()

    def stop(self) -> None:
        """Stop listening and end the thread."""
        self._stopping.set()
        self._thread.join(10)
        self._sock.close()


@pytest.fixture
def closing_server(tmp_path: Path) -> Iterator[ClosingServer]:
    """A server that closes every connection after its first answer."""
    server = ClosingServer(tmp_path)
    yield server
    server.stop()


async def test_a_change_is_not_sent_on_a_connection_the_server_closed_while_idle(
    closing_server: ClosingServer,
) -> None:
    connection = PveConnection(
        closing_server.address, TOKEN_ID, TOKEN_SECRET, fingerprint=closing_server.fingerprint, retries=0
    )
    async with PveClient(connection) as pve:
        assert await pve.get("/version") == "ok"
        await asyncio.to_thread(closing_server.closed.acquire, True, 5)
        # The close reaches the client's loop as the end of the connection's stream.
        await asyncio.sleep(0.05)
        # A POST is never retried: sent on the closed connection, it would fail as "dropped".
        assert await pve.post("/nodes/pve1/qemu/100/status/start") == "ok"
    assert [r.split(b" ", 2)[:2] for r in closing_server.requests] == [
        [b"GET", b"/api2/json/version"],
        [b"POST", b"/api2/json/nodes/pve1/qemu/100/status/start"],
    ]
