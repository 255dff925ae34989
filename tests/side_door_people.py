"""A small simulated cluster with the people of app/demo/seed_access.py, and clients acting as them directly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from app.demo.seed import seed_cluster
from app.demo.seed_access import seed_access
from pvesim.fake import DemoPve
from tests.fakepve_thread import TOKEN_SECRET, ServedFake

# The deploy pipeline's token: PVEVMAdmin on /vms, so it can delete any guest without Proxgate.
CI_TOKEN, CI_SECRET = "ci@pve!deploy", "5c1d9e0a-52a7-4f56-9d8e-0d1e8f7b2a31"
UI_PASSWORD = "ops-password-in-the-demo"


def side_door_cluster(directory: Path) -> Iterator[ServedFake]:
    """For a fixture: a 6-guest cluster with users, tokens and ACLs, served over TLS."""
    pve = DemoPve()
    seed_cluster(pve, guests=6)
    seed_access(pve, TOKEN_SECRET, UI_PASSWORD)
    served = ServedFake(pve, directory)
    yield served
    served.stop()


class Direct:
    """Someone acting on Proxmox directly (its API, as a script or the web UI does), beside Proxgate."""

    def __init__(self, served: ServedFake, token: str = CI_TOKEN, secret: str = CI_SECRET) -> None:
        self.http = httpx.Client(
            base_url=served.url + "/api2/json",
            verify=served.ssl_context(),
            headers={"Authorization": f"PVEAPIToken={token}={secret}"},
            timeout=30,
        )

    def call(self, method: str, url: str, **values: Any) -> Any:
        """The data of a 200 answer (a UPID for a task); values go in the query of a GET, else the form."""
        where = {"params": values} if method == "GET" else {"data": values or None}
        answer = self.http.request(method, url, **where)
        assert answer.status_code == 200, (method, url, answer.status_code, answer.text)
        return answer.json()["data"]

    def wait(self, upid: str, timeout: float = 20) -> str:
        """The task's exit status once it stopped."""
        node = upid.split(":")[1]
        deadline = time.monotonic() + timeout
        while True:
            status = self.call("GET", f"/nodes/{node}/tasks/{upid}/status")
            if status["status"] == "stopped":
                return str(status["exitstatus"])
            assert time.monotonic() < deadline, upid
            time.sleep(0.05)

    def close(self) -> None:
        """Close the connections."""
        self.http.close()


def stopped_vms(pve: DemoPve, count: int) -> list[Any]:
    """`count` stopped VMs of the cluster (not templates), lowest VMID first."""
    vms = [vm for vm in pve.vms if vm.status == "stopped" and not vm.config.get("template")]
    return sorted(vms, key=lambda vm: vm.vmid)[:count]
