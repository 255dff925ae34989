"""Fixtures for the demo package: a DemoPve served over TLS and a small PVE API client with the token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pvesim.fake import DemoPve
from tests.fakepve_thread import TOKEN_ID, ServedFake
from tests.fakepve_thread import PveApi as Api


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
