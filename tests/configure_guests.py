"""Guests 8700-8759 for the configuration edit tests, made in the shared fake on pve1 and removed afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pvesim.fake import DemoPve
from tests.backup_guests import remove_guests

MY_RANGE = range(8700, 8760)
GIB = 1024**3
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests alice@laptop"


def add_vm(pve: DemoPve, vmid: int, status: str = "running", **extra: Any) -> Any:
    """A cloud-init VM on pve1: one disk, a CD-ROM, a cloud-init drive and two network devices."""
    assert vmid in MY_RANGE
    name = f"vm-{vmid}-disk-0"
    pve.storages["local-lvm"]["volumes"][name] = {
        "content": "images",
        "format": "raw",
        "size": 8 * GIB,
        "vmid": vmid,
        "ctime": int(time.time()),
    }
    config = {
        "scsi0": f"local-lvm:{name},size=8G",
        "ide2": "none,media=cdrom",
        "ide0": f"local-lvm:vm-{vmid}-cloudinit,media=cdrom",
        "memory": 2048,
        "cores": 2,
        "ostype": "l26",
        "boot": "order=scsi0;net0",
        "net0": f"virtio=BC:24:11:87:{vmid % 100:02d}:01,bridge=vmbr0",
        "net1": f"virtio=BC:24:11:87:{vmid % 100:02d}:02,bridge=vmbr0,tag=20",
        "ciuser": "debian",
        "ipconfig0": "ip=dhcp",
        **extra,
    }
    vm = pve.add_vm(vmid, f"edit{vmid}", node="pve1", status=status, config=config)
    vm.qmpstatus = status
    if status == "running":
        vm.started_at = time.time()
    return vm


def add_ct(pve: DemoPve, vmid: int, status: str = "running") -> Any:
    """An unprivileged container on pve1 with one network device."""
    assert vmid in MY_RANGE
    config = {
        "hostname": f"ct{vmid}",
        "memory": 512,
        "swap": 512,
        "rootfs": f"local-lvm:vm-{vmid}-disk-0,size=4G",
        "ostype": "debian",
        "unprivileged": 1,
        "net0": f"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:87:{vmid % 100:02d}:03,ip=dhcp,type=veth",
    }
    return pve.add_ct(vmid, node="pve1", status=status, config=config)


def guests_made(pve: DemoPve) -> Iterator[None]:
    """For a fixture: a clean 8700-8759 range before and after the test."""
    remove_guests(pve, MY_RANGE)
    try:
        yield
    finally:
        remove_guests(pve, MY_RANGE)
