"""Each destructive operation: its preview, its refusals before a request exists, and what Proxmox ends up with."""

from __future__ import annotations

from typing import Any

import httpx

from pvesim.fake import DemoPve
from tests.approval_guests import People, add_ct, add_vm, ask, sent, settle, snapshot
from tests.backup_guests import FakeApi, volid_of


def approve(client: httpx.Client, crew: People, rid: int, **body: Any) -> dict[str, Any]:
    """bob approves; the request once it has ended."""
    answer = client.post(f"/api/v1/requests/{rid}/approve", json=body, headers=crew.bob)
    assert answer.status_code == 200, answer.text
    return settle(client, crew.bob, rid)


def backup_of(fake_api: FakeApi, pve: DemoPve, vmid: int, notes: str = "nightly") -> str:
    """A backup of the guest on 'local' (made through the fake's vzdump); its volume id."""
    upid = fake_api.vzdump("pve1", vmid, storage="local", **{"notes-template": notes})
    assert fake_api.wait(upid)["exitstatus"] == "OK"
    return volid_of(pve, "local", vmid)


def test_restore_over_a_guest_previews_what_is_replaced_and_then_replaces_it(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: FakeApi
) -> None:
    vm = add_vm(pve, 9320)
    volid = backup_of(fake_api, pve, 9320, notes="before the upgrade")
    snapshot(fake_api, vm, "later")
    vm.config["memory"] = 8192
    asked = ask(client, crew.alice, 9320, "restore-overwrite", archive=volid, reason="upgrade broke it")
    assert asked.status_code == 202, asked.text
    rid = asked.json()["request_id"]
    preview = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["preview"]
    facts = {f["label"]: f["value"] for f in preview["facts"]}
    assert facts["Backup"] == volid and facts["Notes"] == "before the upgrade" and "UTC" in facts["Taken"]
    losses = " ".join(preview["losses"])
    assert "scsi0: local-lvm:vm-9320-disk-0 (8 GiB)" in losses and "later" in losses
    assert preview["data"]["snapshots"] == ["later"]
    done = approve(client, crew, rid, confirm="9320")
    assert done["status"] == "succeeded", done
    assert ":qmrestore:9320:" in done["upid"]
    restored = pve.vm(9320)
    assert restored.config["memory"] in (2048, "2048") and not restored.snapshots


def test_a_container_backup_cannot_be_restored_over_a_vm(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: FakeApi
) -> None:
    add_vm(pve, 9321)
    add_ct(pve, 9322)
    volid = backup_of(fake_api, pve, 9322)
    refused = ask(client, crew.alice, 9321, "restore-overwrite", archive=volid, reason="wrong one")
    assert refused.status_code == 409 and "backup of a container" in refused.json()["detail"]


def test_a_protected_backup_is_refused_and_an_unprotected_one_deleted_once_approved(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: FakeApi
) -> None:
    add_vm(pve, 9323)
    volid = backup_of(fake_api, pve, 9323)
    volume = pve.storages["local"]["volumes"][volid.partition(":")[2]]
    volume["protected"] = True
    body = {"volume": volid, "reason": "space"}
    refused = client.post("/api/v1/actions/delete-backup", json=body, headers=crew.alice)
    assert refused.status_code == 409 and "is protected" in refused.json()["detail"]
    volume["protected"] = False
    asked = client.post("/api/v1/actions/delete-backup", json=body, headers=crew.alice)
    assert asked.status_code == 202, asked.text
    rid = asked.json()["request_id"]
    request = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    assert request["target"]["vmid"] == 9323 and request["parameters"]["node"] == "pve1"
    assert "deleted for good" in request["preview"]["losses"][0]
    done = approve(client, crew, rid, confirm="9323")
    assert done["status"] == "succeeded", done
    assert volid.partition(":")[2] not in pve.storages["local"]["volumes"]


def test_a_container_template_is_followed_although_proxmox_names_no_task(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    ct = add_ct(pve, 9324)
    rid = ask(client, crew.alice, 9324, "template", reason="base image").json()["request_id"]
    preview = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["preview"]
    assert "cannot be undone" in preview["losses"][0]
    done = approve(client, crew, rid)
    assert done["status"] == "succeeded", done
    assert ":vztemplate:9324:" in done["upid"]
    assert str(ct.config.get("template")) == "1"


def test_a_guest_with_snapshots_cannot_become_a_template(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: FakeApi
) -> None:
    vm = add_vm(pve, 9325)
    snapshot(fake_api, vm, "one")
    refused = ask(client, crew.alice, 9325, "template", reason="base")
    assert refused.status_code == 409 and "Delete them first" in refused.json()["detail"]


def test_deleting_a_snapshot_previews_its_children(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: FakeApi
) -> None:
    vm = add_vm(pve, 9326)
    for name in ("base", "middle", "top"):
        snapshot(fake_api, vm, name)
    rid = ask(client, crew.alice, 9326, "delete-snapshot", snapname="middle", reason="tidy").json()[
        "request_id"
    ]
    preview = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["preview"]
    assert preview["data"]["children"] == ["top"] and preview["data"]["parent"] == "base"
    assert any("now follow 'base'" in n for n in preview["notes"])
    assert approve(client, crew, rid, confirm="9326")["status"] == "succeeded"
    assert set(vm.snapshots) == {"base", "top"} and vm.snapshots["top"]["parent"] == "base"


def test_zfs_cannot_roll_back_past_newer_snapshots_and_says_so_before_asking(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: FakeApi
) -> None:
    pve.storages["tank"] = {
        "type": "zfspool",
        "pool": "rpool/data",
        "content": "images,rootdir",
        "volumes": {},
    }
    try:
        vm = add_vm(pve, 9327)
        vm.config["scsi1"] = "tank:vm-9327-disk-1,size=4G"
        for name in ("first", "second"):
            snapshot(fake_api, vm, name)
        refused = ask(client, crew.alice, 9327, "rollback", snapname="first", reason="undo")
        assert refused.status_code == 409, refused.text
        assert "ZFS storage 'tank'" in refused.json()["detail"] and "second" in refused.json()["detail"]
        assert ask(client, crew.alice, 9327, "rollback", snapname="second", reason="undo").status_code == 202
    finally:
        del pve.storages["tank"]


def test_a_failed_task_fails_the_request_with_the_tasks_error(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9328)
    pve.fail("DELETE", "/qemu/9328", error="locked")
    rid = ask(client, crew.alice, 9328, "delete", reason="x").json()["request_id"]
    done = approve(client, crew, rid, confirm="9328")
    assert done["status"] == "failed" and done["result"]["exitstatus"] == "VM is locked (backup)"
    assert pve.vm(9328) is not None


def test_proxmox_refusing_the_call_fails_the_request_in_its_words(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9329)
    seen = len(pve.requests)
    pve.fail("DELETE", "/qemu/9329", 500, "unable to remove VM 9329 - used in HA resources")
    rid = ask(client, crew.alice, 9329, "delete", reason="x").json()["request_id"]
    done = approve(client, crew, rid, confirm="9329")
    assert done["status"] == "failed" and "used in HA resources" in done["result"]["message"]
    assert len(sent(pve, seen, "DELETE", "/qemu/9329")) == 1


def test_a_protected_guest_is_refused_up_front(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9330)
    vm.config["protection"] = 1
    refused = ask(client, crew.alice, 9330, "delete", reason="x")
    assert refused.status_code == 409 and "protection" in refused.json()["detail"]
