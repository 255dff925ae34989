"""Whose a volume is, by its name, as PVE::Storage's parse_volname tells it; and the cloud-init drive."""

from __future__ import annotations

import pytest

from app.proxmox.diskparse import parse_disks, volume_owner


@pytest.mark.parametrize(
    ("volume", "owner"),
    [
        ("local-lvm:vm-100-disk-0", 100),
        ("local-zfs:subvol-101-disk-0", 101),
        ("local:100/vm-100-disk-0.qcow2", 100),
        # A linked clone's volume is the clone's, not the template's.
        ("local:100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2", 101),
        ("ceph:base-100-disk-0/vm-102-disk-1", 102),
        ("local-lvm:vm-100-cloudinit", 100),
        ("local:iso/debian-12.iso", None),
        ("/dev/disk/by-id/ata-WDC", None),
        ("/mnt/data", None),
        ("iscsi:0.0.1.scsi-36000", None),
    ],
)
def test_the_owner_is_in_the_volume_name(volume: str, owner: int | None) -> None:
    assert volume_owner(volume) == owner


def test_a_cloud_init_drive_is_a_cdrom_that_is_a_disk() -> None:
    config = {"ide0": "local-lvm:vm-100-cloudinit,media=cdrom", "ide2": "local:iso/x.iso,media=cdrom"}
    disks = {d.key: d for d in parse_disks("qemu", config)}
    assert disks["ide0"].cloudinit and disks["ide0"].cdrom and disks["ide0"].owner == 100
    assert not disks["ide2"].cloudinit
