"""Clone to another node as Proxmox allows it: a VM only with every disk and CD image on shared storage, a
container's local disks onto a shared storage, never a bind mount; each refusal says why before anything is
sent, and the simulator refuses the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.api.test_actions import bearer, wait_for_event
from tests.api.test_owned_volumes import volume
from tests.approval_guests import sent
from tests.backup_guests import FakeApi, remove_guests

MINE = range(8760, 8780)
WIN_ISO = "local:iso/Win11_24H2_English_x64.iso"


@pytest.fixture
def operator(settings: Settings, pve: DemoPve) -> Iterator[dict[str, str]]:
    """An operator's token headers; guests and volumes 8760-8779 are removed before and after."""
    remove_guests(pve, MINE)
    try:
        yield bearer(settings, "operator")
    finally:
        remove_guests(pve, MINE)


def ceph(pve: DemoPve, name: str, vmid: int) -> str:
    """A 2 GiB volume on the shared ceph-vm storage; its config value."""
    pve.storages["ceph-vm"].setdefault("volumes", {})[name] = {
        "content": "images",
        "format": "raw",
        "size": 2 * 1024**3,
        "vmid": vmid,
        "ctime": 0,
    }
    return f"ceph-vm:{name},size=2G"


def clone(client: httpx.Client, headers: dict[str, str], vmid: int, **body: Any) -> httpx.Response:
    """POST the clone action."""
    return client.post(f"/api/v1/guests/{vmid}/actions/clone", json=body, headers=headers)


def refused(answer: httpx.Response) -> tuple[str, str | None]:
    """The refusal's message and the field it names."""
    assert answer.status_code == 409, answer.text
    return answer.json()["detail"], answer.json().get("field")


def test_a_vm_with_a_local_cd_image_is_not_copied_to_another_node_until_it_is_ejected(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve, fake_api: FakeApi
) -> None:
    config = {"scsi0": ceph(pve, "vm-8761-disk-0", 8761), "ide2": f"{WIN_ISO},media=cdrom", "memory": 1024}
    pve.add_vm(8761, "iso8761", node="pve1", status="stopped", config=config)
    since = len(pve.requests)
    assert refused(clone(client, operator, 8761, newid=8762, target="pve2")) == (
        f"VM 8761 iso8761 cannot be copied to pve2: ide2 ({WIN_ISO}) on local is on storage only pve1 has; "
        "copy it on pve1, or eject the CD image first.",
        "target",
    )
    assert sent(pve, since, "POST", "/clone") == []
    answer = fake_api.request("POST", "/nodes/pve1/qemu/8761/clone", data={"newid": 8762, "target": "pve2"})
    assert (
        answer.status_code == 500 and "can't clone VM to node 'pve2' (VM uses local storage)" in answer.text
    )
    pve.vm(8761).config["ide2"] = "none,media=cdrom"
    done = clone(client, operator, 8761, newid=8762, target="pve2")
    assert done.status_code == 200, done.text
    assert wait_for_event(client, operator, done.json()["upid"])["outcome"] == "succeeded"
    assert pve.vm(8762).node == "pve2" and pve.vm(8762).config["scsi0"].startswith("ceph-vm:vm-8762-disk-")


def test_a_vm_disk_on_local_storage_stays_a_refusal_with_a_shared_target_storage(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    pve.add_vm(
        8763, "lvm8763", node="pve1", status="stopped", config={"scsi0": volume(pve, "vm-8763-disk-0", 8763)}
    )
    message, field = refused(clone(client, operator, 8763, target="pve2", storage="ceph-vm"))
    assert field == "target" and message.startswith(
        "VM 8763 lvm8763 cannot be copied to pve2: scsi0 on local-lvm"
    )
    assert refused(clone(client, operator, 8763, target="pve2", storage="local-lvm")) == (
        "Storage 'local-lvm' is not shared: Proxmox copies a guest to another node only onto shared storage. "
        "Choose one of: ceph-vm, or leave it empty.",
        "storage",
    )


def test_a_container_goes_to_another_node_onto_shared_storage_but_never_with_a_bind_mount(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve, fake_api: FakeApi
) -> None:
    rootfs = volume(pve, "vm-8765-disk-0", 8765, content="rootdir")
    pve.add_ct(8765, node="pve1", status="stopped", config={"hostname": "ct8765", "rootfs": rootfs})
    message, field = refused(clone(client, operator, 8765, newid=8766, target="pve2"))
    assert field == "target" and message == (
        "CT 8765 ct8765 cannot be copied to pve2: rootfs on local-lvm is on storage only pve1 has; choose a "
        "shared storage for the copy's disks, or copy it on pve1."
    )
    done = clone(client, operator, 8765, newid=8766, target="pve2", storage="ceph-vm")
    assert done.status_code == 200, done.text
    assert wait_for_event(client, operator, done.json()["upid"])["outcome"] == "succeeded"
    assert pve.ct(8766).node == "pve2" and pve.ct(8766).config["rootfs"].startswith("ceph-vm:")
    pve.ct(8765).config["mp0"] = "/srv/media,mp=/media"
    since = len(pve.requests)
    assert refused(clone(client, operator, 8765, newid=8767)) == (
        "CT 8765 ct8765 cannot be copied: mp0 is a bind mount of a host directory (/srv/media), which Proxmox "
        "does not copy; remove the mount point first.",
        None,
    )
    assert sent(pve, since, "POST", "/clone") == []
    answer = fake_api.request("POST", "/nodes/pve1/lxc/8765/clone", data={"newid": 8767})
    assert answer.status_code == 500 and "unable to clone mountpoint 'mp0' (type bind)" in answer.text
