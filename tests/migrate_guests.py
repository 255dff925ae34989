"""Guests 9650-9669 for the migration tests, made in the shared fake on pve1 and removed afterwards, and a
storage only pve1 and pve2 have ('fast-nvme'), so pve3 is refused for what lives on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pvesim.fake import DemoPve
from tests.backup_guests import remove_guests

MY_RANGE = range(9650, 9670)
GIB = 1024**3
# A running VM with its disk on local-lvm; one on shared Ceph; one HA manages; one on fast-nvme; containers.
LOCAL_VM, SHARED_VM, HA_VM, NVME_VM, STOPPED_VM, RUNNING_CT, STOPPED_CT, DEVICE_VM = (
    9650,
    9651,
    9652,
    9653,
    9654,
    9655,
    9656,
    9657,
)
NVME = "fast-nvme"


def volume(pve: DemoPve, storage: str, vmid: int, size: int, content: str = "images") -> str:
    """A volume of `size` GiB for the guest on the storage, as its config line names it."""
    name = f"vm-{vmid}-disk-0"
    pve.storages[storage]["volumes"][name] = {
        "content": content,
        "format": "raw",
        "size": size * GIB,
        "vmid": vmid,
        "ctime": int(time.time()),
    }
    return f"{storage}:{name},size={size}G"


def add_vm(pve: DemoPve, vmid: int, storage: str, status: str = "running", memory: int = 4096) -> Any:
    """A VM on pve1 with one 8 GiB disk on `storage` and `memory` MiB of RAM."""
    assert vmid in MY_RANGE
    config = {
        "scsi0": volume(pve, storage, vmid, 8),
        "ide2": "none,media=cdrom",
        "memory": memory,
        "cores": 2,
        "boot": "order=scsi0",
        "net0": f"virtio=BC:24:11:96:{vmid % 100:02d}:01,bridge=vmbr0",
    }
    vm = pve.add_vm(vmid, f"mig{vmid}", node="pve1", status=status, config=config)
    vm.qmpstatus = status
    if status == "running":
        vm.started_at = time.time()
    return vm


def add_ct(pve: DemoPve, vmid: int, status: str) -> Any:
    """A container on pve1 with a 4 GiB root disk on local-lvm."""
    assert vmid in MY_RANGE
    config = {
        "hostname": f"ct{vmid}",
        "memory": 512,
        "rootfs": volume(pve, "local-lvm", vmid, 4, "rootdir"),
        "ostype": "debian",
    }
    return pve.add_ct(vmid, node="pve1", status=status, config=config)


def add_guests(pve: DemoPve) -> None:
    """The guests above, and fast-nvme."""
    pve.storages[NVME] = {
        "type": "zfspool",
        "pool": "nvme",
        "content": "images,rootdir",
        "nodes": "pve1,pve2",
        "active": 1,
        "files": set(),
        "volumes": {},
    }
    add_vm(pve, LOCAL_VM, "local-lvm")
    add_vm(pve, SHARED_VM, "ceph-vm", memory=2048)
    add_vm(pve, HA_VM, "ceph-vm").ha_state = "started"
    add_vm(pve, NVME_VM, NVME)
    add_vm(pve, STOPPED_VM, "local-lvm", status="stopped")
    add_ct(pve, RUNNING_CT, "running")
    add_ct(pve, STOPPED_CT, "stopped")
    add_vm(pve, DEVICE_VM, "ceph-vm").config["hostpci0"] = "0000:01:00.0"


def migration_guests(pve: DemoPve) -> Iterator[None]:
    """For a fixture: the guests above (and fast-nvme), removed again afterwards."""
    remove_guests(pve, MY_RANGE)
    add_guests(pve)
    try:
        yield
    finally:
        remove_guests(pve, MY_RANGE)
        pve.storages.pop(NVME, None)
