"""Deleting a guest or restoring over it: the preview names the volumes Proxmox destroys, the ones it leaves
(another guest's, bind mounts, passed-through disks) and the ones a restore keeps as unused; and Proxmox ends
with exactly that."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pvesim.fake import DemoPve
from tests.api.test_approval_ops import approve, backup_of
from tests.approval_guests import GIB, People, ask
from tests.backup_guests import FakeApi, remove_guests

MINE = range(8740, 8760)


@pytest.fixture
def mine(pve: DemoPve) -> Iterator[None]:
    """Guests and volumes 8740-8759, removed before and after."""
    remove_guests(pve, MINE)
    try:
        yield
    finally:
        remove_guests(pve, MINE)


def volume(pve: DemoPve, name: str, vmid: int, size: int = 2, content: str = "images") -> str:
    """A volume on local-lvm; its config value."""
    pve.storages["local-lvm"]["volumes"][name] = {
        "content": content,
        "format": "raw",
        "size": size * GIB,
        "vmid": vmid,
        "ctime": int(time.time()),
    }
    return f"local-lvm:{name},size={size}G"


def on_lvm(pve: DemoPve) -> set[str]:
    """The volume names local-lvm holds."""
    return set(pve.storages["local-lvm"]["volumes"])


def iso_of(pve: DemoPve) -> str:
    """An ISO the demo's 'local' storage holds."""
    return "local:iso/" + sorted(pve.storages["local"]["files"])[0]


def preview_of(client: httpx.Client, crew: People, vmid: int, op: str, **params: Any) -> tuple[int, Any]:
    """Ask for the operation; the request's id and its preview as the approver sees it."""
    asked = ask(client, crew.alice, vmid, op, reason="tidy up", **params)
    assert asked.status_code == 202, asked.text
    rid = asked.json()["request_id"]
    return rid, client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["preview"]


def test_deleting_a_vm_destroys_what_it_owns_with_its_cloud_init_drive_and_leaves_the_rest(
    client: httpx.Client, crew: People, pve: DemoPve, mine: None
) -> None:
    other = pve.add_vm(8742, "owner8742", node="pve1", status="stopped", config={})
    other.config["scsi0"] = volume(pve, "vm-8742-disk-0", 8742)
    config = {
        "scsi0": volume(pve, "vm-8741-disk-0", 8741, size=8),
        "scsi1": volume(pve, "vm-8742-disk-1", 8742),
        "scsi2": "/dev/disk/by-id/ata-WDC_WD40-XYZ,size=3726G",
        "ide0": "local-lvm:vm-8741-cloudinit,media=cdrom",
        "ide2": f"{iso_of(pve)},media=cdrom",
        "unused0": volume(pve, "vm-8741-disk-1", 8741).split(",")[0],
        "memory": 1024,
    }
    volume(pve, "vm-8741-cloudinit", 8741)
    pve.add_vm(8741, "del8741", node="pve1", status="stopped", config=config)
    rid, preview = preview_of(client, crew, 8741, "delete")
    assert preview["losses"] == [
        "Disk ide0: local-lvm:vm-8741-cloudinit (cloud-init drive) is destroyed",
        "Disk scsi0: local-lvm:vm-8741-disk-0 (8 GiB) is destroyed",
        "Disk unused0: local-lvm:vm-8741-disk-1 is destroyed",
    ]
    assert preview["notes"][:2] == [
        "Disk scsi1: local-lvm:vm-8742-disk-1 (2 GiB) is guest 8742's volume; Proxmox destroys only the "
        "volumes a guest owns, so it stays.",
        "Disk scsi2: /dev/disk/by-id/ata-WDC_WD40-XYZ (3.6 TiB) is a passed-through device; Proxmox leaves "
        "it as it is.",
    ]
    done = approve(client, crew, rid, confirm="8741")
    assert done["status"] == "succeeded", done
    assert pve.vm(8741) is None
    left = on_lvm(pve)
    assert {"vm-8742-disk-0", "vm-8742-disk-1"} <= left
    assert not {"vm-8741-disk-0", "vm-8741-disk-1", "vm-8741-cloudinit"} & left
    assert iso_of(pve).removeprefix("local:iso/") in pve.storages["local"]["files"]


def test_deleting_a_container_leaves_bind_mounts_and_another_guests_volume(
    client: httpx.Client, crew: People, pve: DemoPve, mine: None
) -> None:
    config = {
        "hostname": "ct8743",
        "rootfs": volume(pve, "vm-8743-disk-0", 8743, size=4, content="rootdir"),
        "mp0": "/srv/shared,mp=/data",
        "mp1": volume(pve, "vm-8744-disk-0", 8744, content="rootdir") + ",mp=/other",
        "memory": 512,
    }
    pve.add_ct(8743, node="pve1", status="stopped", config=config)
    rid, preview = preview_of(client, crew, 8743, "delete")
    assert preview["losses"] == ["Disk rootfs: local-lvm:vm-8743-disk-0 (4 GiB) is destroyed"]
    assert preview["notes"][:2] == [
        "Disk mp0: /srv/shared is a bind mount of a host directory; Proxmox leaves it as it is.",
        "Disk mp1: local-lvm:vm-8744-disk-0 (2 GiB) is guest 8744's volume; Proxmox destroys only the "
        "volumes a guest owns, so it stays.",
    ]
    done = approve(client, crew, rid, confirm="8743")
    assert done["status"] == "succeeded", done
    assert pve.ct(8743) is None
    assert "vm-8744-disk-0" in on_lvm(pve) and "vm-8743-disk-0" not in on_lvm(pve)


def test_restoring_over_a_vm_replaces_the_disks_in_the_backup_and_keeps_the_others_unused(
    client: httpx.Client, crew: People, pve: DemoPve, mine: None, fake_api: FakeApi
) -> None:
    vm = pve.add_vm(
        8745, "rest8745", node="pve1", status="stopped", config={"memory": 1024, "boot": "order=scsi0"}
    )
    vm.config["scsi0"] = volume(pve, "vm-8745-disk-0", 8745, size=4)
    archive = backup_of(fake_api, pve, 8745)
    vm.config["scsi1"] = volume(pve, "vm-8745-disk-1", 8745, size=3)
    vm.config["unused0"] = volume(pve, "vm-8745-disk-2", 8745).split(",")[0]
    rid, preview = preview_of(client, crew, 8745, "restore-overwrite", archive=archive)
    assert preview["losses"][0] == "Disk scsi0: local-lvm:vm-8745-disk-0 (4 GiB) is replaced by the backup's"
    assert "scsi1" not in " ".join(preview["losses"])
    assert preview["notes"][:2] == [
        "Disk scsi1: local-lvm:vm-8745-disk-1 (3 GiB) is not in the backup: it stays, as an unused disk.",
        "Disk unused0: local-lvm:vm-8745-disk-2 stays, unused.",
    ]
    done = approve(client, crew, rid, confirm="8745")
    assert done["status"] == "succeeded", done
    restored = pve.vm(8745).config
    assert restored["scsi0"].startswith("local-lvm:vm-8745-disk-") and "scsi1" not in restored
    unused = {str(restored[k]) for k in restored if k.startswith("unused")}
    assert unused == {"local-lvm:vm-8745-disk-1", "local-lvm:vm-8745-disk-2"}
    assert {"vm-8745-disk-1", "vm-8745-disk-2"} <= on_lvm(pve)


def test_restoring_over_a_container_destroys_what_it_owns_and_leaves_another_guests_volume(
    client: httpx.Client, crew: People, pve: DemoPve, mine: None, fake_api: FakeApi
) -> None:
    config = {"hostname": "ct8747", "memory": 512, "ostype": "debian"}
    ct = pve.add_ct(8747, node="pve1", status="stopped", config=config)
    ct.config["rootfs"] = volume(pve, "vm-8747-disk-0", 8747, size=4, content="rootdir")
    archive = backup_of(fake_api, pve, 8747)
    ct.config["mp0"] = volume(pve, "vm-8748-disk-0", 8748, content="rootdir") + ",mp=/other"
    ct.config["unused0"] = volume(pve, "vm-8747-disk-1", 8747, content="rootdir").split(",")[0]
    rid, preview = preview_of(client, crew, 8747, "restore-overwrite", archive=archive)
    assert preview["losses"][:2] == [
        "Disk rootfs: local-lvm:vm-8747-disk-0 (4 GiB) is replaced by the backup's",
        "Disk unused0: local-lvm:vm-8747-disk-1 is destroyed",
    ]
    assert preview["notes"][0] == (
        "Disk mp0: local-lvm:vm-8748-disk-0 (2 GiB) is guest 8748's volume; Proxmox destroys only the "
        "volumes a guest owns, so it stays."
    )
    done = approve(client, crew, rid, confirm="8747")
    assert done["status"] == "succeeded", done
    left = on_lvm(pve)
    assert "vm-8748-disk-0" in left and not {"vm-8747-disk-0", "vm-8747-disk-1"} & left
    assert pve.ct(8747).config["rootfs"].startswith("local-lvm:vm-8747-disk-")


def test_a_container_deleted_with_its_unreferenced_disks_leaves_none_of_its_volumes(
    client: httpx.Client, crew: People, pve: DemoPve, mine: None
) -> None:
    rootfs = volume(pve, "vm-8749-disk-0", 8749, content="rootdir")
    pve.add_ct(8749, node="pve1", status="stopped", config={"hostname": "ct8749", "rootfs": rootfs})
    volume(pve, "vm-8749-disk-3", 8749, content="rootdir")  # on the storage, in no config
    rid, preview = preview_of(client, crew, 8749, "delete", destroy_unreferenced_disks=True)
    assert preview["losses"][-1] == "Any other disk with VMID 8749 on any storage is destroyed as well"
    assert approve(client, crew, rid, confirm="8749")["status"] == "succeeded"
    assert not {"vm-8749-disk-0", "vm-8749-disk-3"} & on_lvm(pve)
