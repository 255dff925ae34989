"""app.demo.fakeserver: the demo's fake PVE as a child process that announces itself in one JSON line."""

from __future__ import annotations

import hashlib
import json
import signal
import ssl
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from app.demo.fakeserver import fingerprint, host_port, start_fake_process
from app.demo.side_door import delete_in_ui


def test_start_fake_process_serves_a_seeded_cluster_with_a_pinned_certificate(tmp_path: Path) -> None:
    fake = start_fake_process(guests=12, time_scale=0, state_dir=tmp_path)
    try:
        host, port = fake.host.rsplit(":", 1)
        pem = ssl.get_server_certificate((host, int(port)))
        token = {"Authorization": f"PVEAPIToken={fake.token_id}={fake.token_secret}"}
        with httpx.Client(
            base_url=fake.url + "/api2/json", verify=ssl.create_default_context(cafile=fake.cafile)
        ) as c:
            version = c.get("/version", headers=token)
            resources = c.get("/cluster/resources", params={"type": "vm"}, headers=token).json()["data"]
            nodes = c.get("/nodes", headers=token).json()["data"]
            refused = c.get("/version", headers={"Authorization": f"PVEAPIToken={fake.token_id}=wrong"})
        # The demo's side door: someone signs in to "the Proxmox UI" and deletes a stopped guest.
        upid = delete_in_ui(tmp_path)
        gone = httpx.get(
            fake.url + "/api2/json/cluster/resources",
            params={"type": "vm"},
            headers=token,
            verify=ssl.create_default_context(cafile=fake.cafile),
        ).json()["data"]
    finally:
        fake.stop()

    assert ":qmdestroy:" in upid and upid.endswith(":ops@pve:") and len(gone) == 11

    assert fake.url == f"https://{fake.host}" and fake.token_id == "root@pam!proxgate"
    assert uuid.UUID(fake.token_secret) and fake.token_secret not in repr(fake)
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    assert fake.fingerprint == ":".join(digest[i : i + 2] for i in range(0, 64, 2))
    assert version.status_code == 200 and version.json()["data"]["version"]
    assert {n["ssl_fingerprint"] for n in nodes} == {fake.fingerprint}
    assert len(resources) == 12 and refused.status_code == 401
    assert fake.process.returncode == 0


def test_the_module_prints_one_json_line_and_ends_cleanly_on_sigint(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "app.demo.fakeserver", "--guests", "5", "--state-dir", str(tmp_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:  # noqa: S603
        assert child.stdout is not None
        first = json.loads(child.stdout.readline())
        child.send_signal(signal.SIGINT)
        rest, errors = child.communicate(timeout=30)

    assert set(first) == {"url", "host", "fingerprint", "token_id", "token_secret", "cafile"}
    assert Path(first["cafile"]).parent == tmp_path
    assert rest == "" and child.returncode == 0, errors


def test_a_child_that_dies_early_is_reported(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the fake cannot bind it.
    with pytest.raises(RuntimeError, match="the fake PVE exited with status 1 before it was ready"):
        start_fake_process(guests=3, host="192.0.2.1", state_dir=tmp_path)

    assert "WARNING: 192.0.2.1 is not a loopback address" in (tmp_path / "fakepve.log").read_text()


def test_fingerprint_and_host_port_spelling() -> None:
    assert fingerprint(b"\x00") == ":".join(
        hashlib.sha256(b"\x00").hexdigest().upper()[i : i + 2] for i in range(0, 64, 2)
    )
    assert host_port("127.0.0.1", 8006) == "127.0.0.1:8006" and host_port("::1", 8006) == "[::1]:8006"
