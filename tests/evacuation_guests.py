"""A small cluster of its own for emptying a node (moving every guest of a node disturbs other tests): the
demo's pve1-pve3 with 6 guests, and pve4 with the guests below, each a case of the plan."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.engine import sync_url
from app.demo.seed import seed_cluster
from pvesim.fake import DemoPve
from tests.conftest import fresh_postgres
from tests.fakepve_thread import TOKEN_ID, TOKEN_SECRET, ServedFake
from tests.migrate_guests import volume
from tests.servers import AppServer

NODE = "pve4"
T = TypeVar("T")
GIB = 1024**3
# Running on shared Ceph (moves live); stopped on local-lvm (offline, its disk copied); running on local-lvm
# (stays unless its disks are copied while it runs); a PCI device (stays); a running container; HA's VM.
SHARED_VM, STOPPED_VM, LOCAL_VM, DEVICE_VM, RUNNING_CT, HA_VM = 9700, 9701, 9702, 9703, 9704, 9705
MOVABLE = (SHARED_VM, STOPPED_VM, RUNNING_CT, HA_VM)


def add_vm(pve: DemoPve, vmid: int, storage: str, status: str = "running") -> Any:
    """A VM on NODE with one 8 GiB disk on `storage` and 2 GiB of RAM."""
    config = {"scsi0": volume(pve, storage, vmid, 8), "memory": 2048, "cores": 2, "boot": "order=scsi0"}
    vm = pve.add_vm(vmid, f"evac{vmid}", node=NODE, status=status, config=config)
    vm.qmpstatus = status
    if status == "running":
        vm.started_at = time.time()
    return vm


def add_guests(pve: DemoPve, stuck: bool) -> None:
    """NODE and its guests (with `stuck`, the two that cannot move without more: LOCAL_VM and DEVICE_VM)."""
    pve.nodes[NODE] = {"online": True}
    add_vm(pve, SHARED_VM, "ceph-vm")
    add_vm(pve, STOPPED_VM, "local-lvm", status="stopped")
    if stuck:
        add_vm(pve, LOCAL_VM, "local-lvm")
        add_vm(pve, DEVICE_VM, "ceph-vm").config["hostpci0"] = "0000:01:00.0"
    config = {"hostname": f"ct{RUNNING_CT}", "memory": 512, "ostype": "debian"}
    config["rootfs"] = volume(pve, "ceph-vm", RUNNING_CT, 4, "rootdir")
    pve.add_ct(RUNNING_CT, node=NODE, status="running", config=config)
    add_vm(pve, HA_VM, "ceph-vm").ha_state = "started"


def served_cluster(folder: Path, stuck: bool = True, time_scale: float = 0.0) -> Iterator[ServedFake]:
    """For a fixture: the cluster above served over TLS, stopped afterwards."""
    pve = DemoPve()
    seed_cluster(pve, guests=6)
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    add_guests(pve, stuck)
    pve.time_scale = time_scale
    pve.ha_delay = 1
    served = ServedFake(pve, folder)
    try:
        yield served
    finally:
        served.stop()


def own_database(database_url: str, folder: Path) -> Iterator[str]:
    """For a fixture: a database of its own, of the suite's kind. Not the suite's: the task watcher of every app
    on a database follows its running tasks, and the suite's apps would look for this cluster's tasks in their
    own cluster (and end them as unknown)."""
    if make_url(sync_url(database_url)).get_backend_name() == "sqlite":
        yield f"sqlite:///{folder / 'evacuation.db'}"
        return
    yield from fresh_postgres(database_url)


def evacuation_app(settings: Settings) -> Iterator[AppServer]:
    """For a fixture: an app with these settings, stopped afterwards."""
    server = AppServer(settings)
    try:
        yield server
    finally:
        server.stop()


def until(check: Callable[[], T | None], timeout: float = 20) -> T:
    """The first truthy answer of check, asked every 0.1 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"still not so after {timeout} s")


def where(pve: DemoPve, vmid: int) -> str:
    """The node the guest is on now."""
    guest = pve.guest(vmid)
    assert guest is not None
    return str(guest.node)
