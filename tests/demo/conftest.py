"""Fixtures for the demo package: a DemoPve served over TLS and a small PVE API client with the token."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo.fake import DemoPve
from tests.fakepve_thread import ServedFake

TOKEN_ID = "root@pam!proxgate"


class Api:
    """httpx against /api2/json with an API token; data() unwraps PVE's {"data": ...}."""

    def __init__(self, served: ServedFake, secret: str) -> None:
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


@pytest.fixture
def demo_pve() -> DemoPve:
    """An empty DemoPve that knows the app's token; tasks finish before their request returns."""
    pve = DemoPve()
    pve.apitokens[TOKEN_ID] = str(uuid.uuid4())
    return pve


@pytest.fixture
def demo_served(demo_pve: DemoPve, tmp_path: Path) -> Iterator[ServedFake]:
    """demo_pve on loopback over TLS."""
    served = ServedFake(demo_pve, tmp_path)
    yield served
    served.stop()


@pytest.fixture
def demo_api(demo_served: ServedFake, demo_pve: DemoPve) -> Iterator[Api]:
    """A client of demo_served."""
    api = Api(demo_served, demo_pve.apitokens[TOKEN_ID])
    yield api
    api.close()


def add_web01(pve: DemoPve, vmid: int = 100, status: str = "running", node: str = "pve1") -> Any:
    """A VM with a 32G boot disk on local-lvm, a cloud-init drive and an ISO in its CD-ROM."""
    config = {
        "scsi0": f"local-lvm:vm-{vmid}-disk-0,iothread=1,size=32G",
        "ide2": "local:iso/debian-12.7.0-amd64-netinst.iso,media=cdrom",
        "boot": "order=scsi0;ide2;net0",
        "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
        "memory": 2048,
        "cores": 2,
        "agent": "1",
    }
    pve.storages["local-lvm"].setdefault("volumes", {})[f"vm-{vmid}-disk-0"] = {
        "content": "images",
        "format": "raw",
        "size": 32 * 1024**3,
        "vmid": vmid,
        "ctime": 0,
    }
    return pve.add_vm(vmid, "web01", node=node, status=status, config=config)


def add_pihole(pve: DemoPve, vmid: int = 101, status: str = "running") -> Any:
    """A container with an 8G root file system on local-lvm."""
    config = {
        "rootfs": f"local-lvm:vm-{vmid}-disk-0,size=8G",
        "net0": "name=eth0,bridge=vmbr0,ip=dhcp,type=veth",
    }
    return pve.add_ct(vmid, "pihole", status=status, config=config)
