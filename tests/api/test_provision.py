"""Provisioning through the API: create a container and a VM, clone, restore into a new VMID."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.api.test_actions import bearer, wait_for_event

MINE = range(9400, 9500)


@pytest.fixture
def operator(settings: Settings, pve: DemoPve) -> Iterator[dict[str, str]]:
    """An operator's token headers; every guest of 9400-9499 is removed afterwards."""
    yield bearer(settings, "operator")
    for guests in (pve.vms, pve.cts):
        for guest in [g for g in guests if g.vmid in MINE]:
            guests.remove(guest)


def first_volume(pve: DemoPve, content: str) -> str:
    """A volid of this content that the demo's storages hold."""
    for name, store in pve.storages.items():
        for volname, vol in store.get("volumes", {}).items():
            if vol.get("content") == content:
                return f"{name}:{volname}"
    raise AssertionError(f"the demo has no {content}")


def act(client: httpx.Client, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST an action and wait for its task to end; returns the end event."""
    answer = client.post(path, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return wait_for_event(client, headers, answer.json()["upid"])


def test_create_container_from_a_template(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    template = first_volume(pve, "vztmpl")
    body = {
        "node": "pve1",
        "vmid": 9401,
        "hostname": "app-9401",
        "ostemplate": template,
        "rootfs_storage": "local-lvm",
        "rootfs_size": 4,
        "ip": "10.0.20.41/24",
        "gateway": "10.0.20.1",
        "password": "s3cret-pass",
    }
    end = act(client, operator, "/api/v1/actions/create-ct", body)
    assert end["outcome"] == "succeeded" and end["vmid"] == 9401 and end["guest_type"] == "lxc"
    trail = client.get("/api/v1/audit", params={"vmid": 9401, "outcome": "intent"}, headers=operator).json()
    assert trail["items"][0]["params"]["password"] == "[redacted]"
    ct = pve.ct(9401)
    assert ct.config["hostname"] == "app-9401"
    assert "ip=10.0.20.41/24" in ct.config["net0"] and "gw=10.0.20.1" in ct.config["net0"]


def test_create_vm_with_an_iso(client: httpx.Client, operator: dict[str, str], pve: DemoPve) -> None:
    iso = first_volume(pve, "iso")
    body = {
        "node": "pve2",
        "vmid": 9402,
        "name": "new-vm",
        "disk_storage": "local-lvm",
        "disk_size": 20,
        "iso": iso,
    }
    end = act(client, operator, "/api/v1/actions/create-vm", body)
    assert end["outcome"] == "succeeded"
    vm = pve.vm(9402)
    assert vm.node == "pve2" and vm.config["ide2"].startswith(iso)


def test_clone_a_vm(client: httpx.Client, operator: dict[str, str], pve: DemoPve) -> None:
    source = next(v for v in pve.vms if not v.template and not v.lock and v.status == "stopped")
    # Its copy may keep a static address of its own (test_address_reuse.py says what happens then).
    body = {"newid": 9403, "name": "clone-9403", "full": True, "allow_ip_reuse": True}
    end = act(client, operator, f"/api/v1/guests/{source.vmid}/actions/clone", body)
    assert end["outcome"] == "succeeded"
    assert pve.vm(9403).name == "clone-9403"


def test_linked_clone_of_a_non_template_is_refused(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    source = next(v for v in pve.vms if not v.template and not v.lock)
    answer = client.post(
        f"/api/v1/guests/{source.vmid}/actions/clone", json={"full": False}, headers=operator
    )
    assert answer.status_code == 409
    assert answer.json()["detail"] == "Linked clones can only be made from templates; make a full copy."


def test_restore_a_backup_into_a_new_vmid(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    archive = next(v for v in (first_backup(pve, "qemu"),) if v)
    # The guest it was taken of still runs with its addresses: the copy takes them only when confirmed.
    body = {"archive": archive, "node": "pve1", "vmid": 9404, "allow_ip_reuse": True}
    end = act(client, operator, "/api/v1/actions/restore", body)
    assert end["outcome"] == "succeeded", end["message"]
    assert pve.vm(9404) is not None


def first_backup(pve: DemoPve, kind: str) -> str:
    """A backup volid of a VM (qemu) or container (lxc) on a shared storage."""
    for name, store in pve.storages.items():
        if not store.get("shared"):
            continue
        for volname in store.get("volumes", {}):
            if re.search(rf"vzdump-{kind}-\d+-", volname):
                return f"{name}:{volname}"
    raise AssertionError("no backup in the demo")


def test_taken_vmid_and_bad_values_are_refused_before_proxmox(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    taken = pve.vms[0].vmid
    base = {"node": "pve1", "name": "x1", "disk_storage": "local-lvm"}
    answer = client.post("/api/v1/actions/create-vm", json={**base, "vmid": taken}, headers=operator)
    assert answer.status_code == 409 and answer.json()["detail"] == f"VM {taken} already exists"
    bad_gw = {
        "node": "pve1",
        "hostname": "h1",
        "ostemplate": "local:vztmpl/x.tar.zst",
        "rootfs_storage": "local-lvm",
        "ip": "10.0.0.5/24",
        "gateway": "192.0.2.1",
    }
    refused = client.post("/api/v1/actions/create-ct", json=bad_gw, headers=operator)
    assert (
        refused.status_code == 422 and "gateway: 192.0.2.1 is not in 10.0.0.0/24" in refused.json()["detail"]
    )
    wrong_storage = client.post(
        "/api/v1/actions/create-vm", json={**base, "disk_storage": "local"}, headers=operator
    )
    assert wrong_storage.status_code == 409 and "cannot hold images on pve1" in wrong_storage.json()["detail"]
