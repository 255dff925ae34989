"""The client's connection pool and handshakes over real sockets: connections reused, at most the pool's at once,
a closed one never written to, a pin checked before a byte is sent (on uvloop too), a port that speaks no TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop
from fakepve.certs import make_cert

from app.proxmox import PveClient, PveConnection, PveTlsError
from app.proxmox.tls import LIMITS, fingerprint_of
from tests.proxmox.conftest import TOKEN_ID, TOKEN_SECRET, RawPve, RecordingObserver

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"data":"ok"}'
WRONG = ":".join(["AB"] * 32)


class KeepAliveServer:
    """An HTTPS server on a loop of its own that keeps every connection open, answers each request after
    `delay` seconds, and counts the connections it accepted and the requests in flight at once."""

    def __init__(self, directory: Path, delay: float) -> None:
        certfile, keyfile, der = make_cert(str(directory), name="keepalive", hosts=("127.0.0.1",))
        self.fingerprint = fingerprint_of(der)
        self.delay = delay
        self.connections = self.requests = self.in_flight = self.peak = 0
        self._writers: set[asyncio.StreamWriter] = set()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="keepalive", daemon=True)
        self._thread.start()
        start = asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ctx, backlog=256)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        self.address = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                await asyncio.sleep(self.delay)
                self.in_flight -= 1
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            self._writers.discard(writer)
            writer.close()

    def stop(self) -> None:
        """Stop listening, end the loop and its thread."""

        async def close() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def keepalive(tmp_path: Path) -> Iterator[KeepAliveServer]:
    """A keep-alive server answering after 20 ms."""
    server = KeepAliveServer(tmp_path, delay=0.02)
    yield server
    server.stop()


async def test_many_requests_at_once_share_the_pools_connections(keepalive: KeepAliveServer) -> None:
    connection = PveConnection(keepalive.address, TOKEN_ID, TOKEN_SECRET, fingerprint=keepalive.fingerprint)
    wanted = 3 * LIMITS.max_connections
    async with PveClient(connection) as pve:
        answers = await asyncio.gather(*(pve.get("/version") for _ in range(wanted)))
        assert answers == ["ok"] * wanted
        # Every request waited for one of the pool's connections: as many were opened, never more.
        assert keepalive.connections == keepalive.peak == LIMITS.max_connections
        await asyncio.gather(*(pve.get("/version") for _ in range(wanted)))
    assert keepalive.requests == 2 * wanted
    assert keepalive.connections == LIMITS.max_connections, "the second burst opened no connection"


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


def test_a_wrong_pin_sends_not_one_byte_on_uvloop(raw_pve: RawPve) -> None:
    # aiohttp skips its fingerprint check on a connection whose transport names no TLS context: uvloop's
    # (the loop `proxgate serve` runs on) must name one, or a pin would let any certificate through.
    async def version() -> None:
        try:
            async with PveClient(raw_pve.connection(fingerprint=WRONG)) as client:
                await client.get("/version")
        finally:
            # The refused connection's TLS close goes on in the background: let it end before the loop does.
            await asyncio.sleep(0.2)

    with pytest.raises(PveTlsError, match=f"expected fingerprint {WRONG}, presented {raw_pve.fingerprint}"):
        uvloop.run(version())
    assert raw_pve.wait_for(1) == [b""]


class PlainServer:
    """Answers every connection in plain HTTP, as a port that is not PVE's API does."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="plain-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def stop(self) -> None:
        """Stop listening and end the thread."""
        self._stopping.set()
        self._thread.join(10)
        self._sock.close()


async def test_a_port_without_tls_is_named_and_not_retried() -> None:
    server = PlainServer()
    observer = RecordingObserver()
    try:
        async with PveClient(PveConnection(server.address, TOKEN_ID, TOKEN_SECRET), observer) as client:
            with pytest.raises(PveTlsError) as caught:
                await client.version()
    finally:
        server.stop()
    text = str(caught.value)
    assert text.startswith(f"The TLS handshake with {server.address} failed (") and text.endswith(
        "); is it PVE's API port?"
    )
    assert [status for _, _, status in observer.requests] == ["tls_error"]
