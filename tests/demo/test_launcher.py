"""`proxgate demo` as a newcomer runs it: the URL and logins are printed, alice signs in and sees three nodes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import login
from tests.servers import free_port

PASSWORD = "demo-password-1"


@pytest.fixture(params=["demo", "up"])
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A running demo with a known password, from `proxgate demo` or from `proxgate up` (what `make run` calls)
    with no Proxmox configured; its URL and process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PROXGATE_", "DATABASE_URL"))}
    env.update(HOME=str(tmp_path), PROXGATE_DATA_DIR=str(tmp_path / "data"), PROXGATE_DEMO_PASSWORD=PASSWORD)
    process = subprocess.Popen(  # noqa: S603 (our own command)
        [sys.executable, "-m", "app.cli", request.param, "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = None
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        if found := re.search(r"open (http://\S+)/", line):
            url = found.group(1)
    try:
        assert url, "the demo printed no URL"
        # A busy machine (CI runs two suites side by side) can take a while to start the app after its URL.
        ready = time.monotonic() + 60
        while time.monotonic() < ready:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, process
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
        process.stdout.close()


def test_alice_signs_in_to_the_demo_and_sees_three_nodes(demo: tuple[str, subprocess.Popen[str]]) -> None:
    url, _process = demo
    with httpx.Client(base_url=url) as http:
        assert login(http, "alice", PASSWORD).status_code == 303
        page = http.get("/").text
        assert len(re.findall(r'<tr data-node="pve\d"', page)) == 3
        assert re.search(r'id="stat-running">.*?<span class="stat-value">\d+</span>', page, re.S)
        assert "Demo: this is a simulated Proxmox cluster" in page
        assert http.get("/api/v1/me").json() == {
            "username": "alice",
            "role": "operator",
            "auth": "session",
            "groups": [],
        }
    with httpx.Client(base_url=url) as http:
        assert login(http, "bob", PASSWORD).status_code == 303
        assert http.get("/api/v1/me").json()["role"] == "approver"


def test_stopping_the_demo_stops_the_fake_cluster(demo: tuple[str, subprocess.Popen[str]]) -> None:
    url, process = demo
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert children, "the fake cluster runs in a process of its own"
    process.send_signal(signal.SIGINT)
    assert process.wait(30) is not None
    time.sleep(0.5)
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_sigterm_stops_the_fake_cluster_and_removes_its_folder(tmp_path: Path) -> None:
    port = free_port()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PROXGATE_", "DATABASE_URL"))}
    env.update(HOME=str(tmp_path), TMPDIR=str(scratch), PROXGATE_DEMO_PASSWORD=PASSWORD)
    process = subprocess.Popen(  # noqa: S603 (our own command)
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert children and list(scratch.glob("proxgate-demo-*")), "the demo runs a fake in a temp folder"
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(0.5)
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert list(scratch.glob("proxgate-demo-*")) == []
