"""Uploads to a storage: multipart as PVE's parser reads it, with a Content-Length (PVE refuses chunked bodies),
and a PVE that stops reading or answering is named within one part's wait, never retried."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from fakepve import FakePve

from app.proxmox import PveClient, PveConnection, PveUnavailable
from app.proxmox.session import PveSession
from app.proxmox.wire import Reply, WireRequest
from tests.fakepve_thread import ServedFake
from tests.proxmox.conftest import TOKEN_ID, TOKEN_SECRET, Canned, RawPve, RecordingObserver, pinned

UPID = "UPID:pve1:0020C066:042DF204:69C26EB0:imgcopy::root@pam!proxgate:"
TARGET = "/nodes/pve1/storage/local/upload"
FIELDS = {"content": "iso", "checksum": "ab" * 32, "checksum-algorithm": "sha256", "skip": None}


def staged(tmp_path: Path, size: int) -> Path:
    """A file of `size` bytes to upload."""
    path = tmp_path / "tiny.iso"
    path.write_bytes(bytes(range(256)) * (size // 256))
    return path


async def test_the_file_goes_last_with_a_content_length(raw_pve: RawPve, tmp_path: Path) -> None:
    raw_pve.answers = [Canned.json(200, "OK", {"data": UPID})]
    path = staged(tmp_path, 64 * 1024)
    async with PveClient(raw_pve.connection()) as client:
        with path.open("rb") as file:
            assert await client.upload(TARGET, FIELDS, "tiny.iso", file) == UPID
    head, body = raw_pve.wait_for(1)[0].split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").lower().split("\r\n")
    assert lines[0] == f"post /api2/json{TARGET} http/1.1"
    assert f"content-length: {len(body)}" in lines
    assert not any(h.startswith("transfer-encoding") for h in lines)
    kind = next(h for h in lines if h.startswith("content-type: "))
    assert kind.startswith("content-type: multipart/form-data; boundary=")
    parts = body.split(b"--" + kind.split("boundary=")[1].encode())
    # Each part's disposition first (PVE's own parser takes any order, simpler ones only this one).
    assert [part.split(b"\r\n\r\n", 1)[0] for part in parts[1:-1]] == [
        b'\r\nContent-Disposition: form-data; name="content"',
        b'\r\nContent-Disposition: form-data; name="checksum"',
        b'\r\nContent-Disposition: form-data; name="checksum-algorithm"',
        b'\r\nContent-Disposition: form-data; name="filename"; filename="tiny.iso"'
        b"\r\nContent-Type: application/octet-stream",
    ]
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    assert path.read_bytes() + b"\r\n--" in body


async def test_a_pve_that_stops_reading_is_named_within_a_parts_wait(raw_pve: RawPve, tmp_path: Path) -> None:
    raw_pve.stalled = True
    observer = RecordingObserver()
    # Larger than what the sockets buffer on loopback, so that the client must wait for the server to read.
    path = staged(tmp_path, 48 * 1024 * 1024)
    session = PveSession(raw_pve.connection(), observer)
    started = time.monotonic()
    try:
        with path.open("rb") as file, pytest.raises(PveUnavailable) as caught:
            await session.upload(TARGET, FIELDS, "tiny.iso", file, part_wait=0.3)
    finally:
        await session.aclose()
    assert time.monotonic() - started < 5
    assert str(caught.value) == (
        f"Cannot reach Proxmox VE at {raw_pve.address}: no answer while the file was sent; the change may or "
        "may not have been made, check the task list"
    )
    assert caught.value.maybe_applied
    assert observer.requests == [("POST", "/nodes/{node}/storage/{storage}/upload", "timeout")]


async def test_a_pve_that_never_answers_is_named_within_a_parts_wait(
    served: ServedFake, pve: FakePve, tmp_path: Path
) -> None:
    pve.flaky_network(hang_rate=1.0, hang_secs=5)
    observer = RecordingObserver()
    session = PveSession(pinned(served, retries=3), observer)
    started = time.monotonic()
    try:
        with (
            staged(tmp_path, 4096).open("rb") as file,
            pytest.raises(PveUnavailable, match="no answer while"),
        ):
            await session.upload(TARGET, FIELDS, "tiny.iso", file, part_wait=0.3)
    finally:
        await session.aclose()
    assert time.monotonic() - started < 3
    assert [status for _, _, status in observer.requests] == ["timeout"], "never retried"


async def test_a_responder_receives_the_whole_body(tmp_path: Path) -> None:
    received: list[WireRequest] = []

    async def respond(request: WireRequest) -> Reply:
        received.append(request)
        return Reply(200, "OK", b'{"data": "%s"}' % UPID.encode())

    path = staged(tmp_path, 1024)
    async with PveClient(
        PveConnection("pve.example:8006", TOKEN_ID, TOKEN_SECRET), responder=respond
    ) as client:
        with path.open("rb") as file:
            assert await client.upload(TARGET, FIELDS, "tiny.iso", file) == UPID
    (request,) = received
    assert (request.method, request.target) == ("POST", f"/api2/json{TARGET}")
    assert request.content_type is not None and request.content_type.startswith(
        "multipart/form-data; boundary="
    )
    assert b'name="content"\r\n\r\niso\r\n' in request.body and path.read_bytes() in request.body


async def test_an_upload_to_a_closed_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    observer = RecordingObserver()
    async with PveClient(PveConnection(f"127.0.0.1:{port}", TOKEN_ID, TOKEN_SECRET), observer) as client:
        with staged(tmp_path, 1024).open("rb") as file, pytest.raises(PveUnavailable) as caught:
            await client.upload(TARGET, FIELDS, "tiny.iso", file)
    assert str(caught.value).endswith("connection refused (is pveproxy running, and is the port right?)")
    assert not caught.value.maybe_applied
    assert observer.requests == [("POST", "/nodes/{node}/storage/{storage}/upload", "connect_error")]
