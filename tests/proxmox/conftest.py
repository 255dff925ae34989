"""Fixtures for the PVE client tests: a fresh fakepve per test, a raw HTTPS server with canned answers."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakepve import FakePve
from fakepve.certs import make_cert

from app.proxmox import PveClient, PveConnection
from app.proxmox.tls import fingerprint_of
from tests.fakepve_thread import ServedFake

TOKEN_ID = "root@pam!proxgate"
TOKEN_SECRET = "0b0a8e2c-3f57-4f3e-9f3c-7b6f2a1d9e42"
SAMPLES = Path(__file__).parent / "samples"


@dataclass
class RecordingObserver:
    """An UpstreamObserver that keeps what it was told."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)
    lookups: list[tuple[str, bool]] = field(default_factory=list)

    def request_done(self, method: str, path_template: str, status: str, seconds: float) -> None:
        """Keep (method, template, status)."""
        assert seconds >= 0
        self.requests.append((method, path_template, status))

    def cache_lookup(self, cache: str, hit: bool) -> None:
        """Keep (cache, hit)."""
        self.lookups.append((cache, hit))


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def seeded_pve() -> FakePve:
    """Two nodes, two VMs and a container, and the API token."""
    pve = FakePve()
    pve.add_node("pve1")
    pve.add_node("pve2")
    pve.add_vm(100, "web01", node="pve1", status="running", config={"tags": "prod;web", "cores": 2})
    pve.add_vm(
        101, "db01", node="pve2", status="stopped", config={"scsi0": "local-lvm:vm-101-disk-0,size=32G"}
    )
    pve.add_ct(200, "dns01", node="pve1", status="running")
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    return pve


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[FakePve], ServedFake]]:
    """Start a FakePve over TLS (configure it first: a network seed applies at start); stopped after."""
    started: list[ServedFake] = []

    def start(pve: FakePve) -> ServedFake:
        directory = tmp_path / f"pki{len(started)}"
        directory.mkdir()
        served = ServedFake(pve, directory)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def pve() -> FakePve:
    """A fresh seeded fake; start it with `served`."""
    return seeded_pve()


@pytest.fixture
def served(pve: FakePve, serve: Callable[[FakePve], ServedFake]) -> ServedFake:
    """The seeded fake, listening."""
    return serve(pve)


def pinned(served: ServedFake, **options: Any) -> PveConnection:
    """A connection to the fake, pinning its certificate."""
    options.setdefault("fingerprint", served.fingerprint)
    return PveConnection(served.address, TOKEN_ID, TOKEN_SECRET, **options)


@pytest.fixture
def observer() -> RecordingObserver:
    """What the client reported."""
    return RecordingObserver()


@pytest.fixture
def clock() -> FakeClock:
    """The cache's clock."""
    return FakeClock()


@pytest.fixture
async def client(
    served: ServedFake, observer: RecordingObserver, clock: FakeClock
) -> AsyncIterator[PveClient]:
    """A client of the seeded fake, pinned, observed, on a hand-moved clock."""
    async with PveClient(pinned(served), observer, clock=clock) as pve_client:
        yield pve_client


@dataclass
class Canned:
    """One HTTP answer: status, reason phrase, body."""

    status: int
    reason: str
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"

    @classmethod
    def json(cls, status: int, reason: str, body: object) -> Canned:
        """An answer with a JSON body."""
        return cls(status, reason, json.dumps(body).encode())


class RawPve:
    """An HTTPS server answering with canned responses (the last repeats), keeping the raw bytes of each
    connection: for shapes fakepve does not produce (pre-2025 errors without `message`, empty 401 bodies)."""

    def __init__(self, directory: Path) -> None:
        certfile, keyfile, der = make_cert(str(directory), name="raw", hosts=("127.0.0.1",))
        self.fingerprint = fingerprint_of(der)
        self.answers: list[Canned] = [Canned.json(200, "OK", {"data": None})]
        self.received: list[bytes] = []
        # True: read a request's head, then stop reading (a PVE whose disk is full, a hung proxy).
        self.stalled = False
        self._ended = threading.Condition()
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(certfile, keyfile)
        self._sock = socket.create_server(("127.0.0.1", 0))
        # accept() wakes up now and then to notice stop(): closing a socket does not interrupt it on Linux.
        self._sock.settimeout(0.05)
        self._stopping = threading.Event()
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, name="rawpve", daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[bytes]:
        """The connections that carried a request."""
        return [raw for raw in self.received if raw]

    def wait_for(self, connections: int) -> list[bytes]:
        """What arrived, once `connections` connections have ended (the server thread may lag the client)."""
        with self._ended:
            self._ended.wait_for(lambda: len(self.received) >= connections, 5.0)
        return self.received

    def connection(self, **options: Any) -> PveConnection:
        """A pinned connection to this server."""
        options.setdefault("fingerprint", self.fingerprint)
        return PveConnection(self.address, TOKEN_ID, TOKEN_SECRET, **options)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        raw = b""
        try:
            with self._ctx.wrap_socket(conn, server_side=True) as tls:
                raw = self._read_request(tls)
                if raw:
                    tls.sendall(self._answer())
        except (OSError, ssl.SSLError):
            pass  # the client went away
        with self._ended:
            self.received.append(raw)
            self._ended.notify_all()

    def _read_request(self, tls: ssl.SSLSocket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = tls.recv(65536)
            except (OSError, ssl.SSLError):
                chunk = b""
            if not chunk:
                return data
            data += chunk
        if self.stalled:
            self._stopping.wait(10)
            return data
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
        length = next(
            (int(h.split(":")[1]) for h in head.split("\r\n") if h.startswith("content-length:")), 0
        )
        while len(data.split(b"\r\n\r\n", 1)[1]) < length:
            data += tls.recv(65536)
        return data

    def _answer(self) -> bytes:
        canned = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        head = (
            f"HTTP/1.1 {canned.status} {canned.reason}\r\nContent-Type: {canned.content_type}\r\n"
            f"Content-Length: {len(canned.body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode("latin-1") + canned.body

    def stop(self) -> None:
        """Stop listening and end the thread."""
        self._stopping.set()
        self._thread.join(10)
        self._sock.close()


@pytest.fixture
def raw_pve(tmp_path: Path) -> Iterator[RawPve]:
    """A raw HTTPS server with canned answers."""
    server = RawPve(tmp_path)
    yield server
    server.stop()
