"""Guests 8600-8699 for the bulk-action tests, made in the shared fake and removed afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from pvesim.fake import DemoPve
from tests.backup_guests import remove_guests

MY_RANGE = range(8600, 8700)


def add_vms(
    pve: DemoPve, vmids: Iterable[int], status: str = "running", node: str = "pve1", disk: bool = False
) -> list[int]:
    """Small VMs named bulk<vmid> on `node`, in `status` (with a 2 GiB disk on local-lvm when asked); returns
    their VMIDs."""
    made = []
    for vmid in vmids:
        assert vmid in MY_RANGE
        config = {"memory": 512, "cores": 1, "net0": f"virtio=BC:24:11:86:{vmid % 100:02d}:01,bridge=vmbr0"}
        if disk:
            volume = f"vm-{vmid}-disk-0"
            pve.storages["local-lvm"]["volumes"][volume] = {
                "content": "images",
                "format": "raw",
                "size": 2 * 1024**3,
                "vmid": vmid,
                "ctime": int(time.time()),
            }
            config["scsi0"] = f"local-lvm:{volume},size=2G"
        vm = pve.add_vm(vmid, f"bulk{vmid}", node=node, status=status, config=config)
        vm.qmpstatus = status
        if status == "running":
            vm.started_at = time.time()
        made.append(vmid)
    return made


def bulk_guests(pve: DemoPve) -> Iterator[None]:
    """For a fixture: a clean 8600-8699 before and after the test."""
    remove_guests(pve, MY_RANGE)
    yield
    remove_guests(pve, MY_RANGE)
