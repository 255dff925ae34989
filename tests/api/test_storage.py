"""GET /api/v1/storage, its content, /api/v1/backups and /api/v1/backups/not-backed-up."""

from __future__ import annotations

import time

import httpx

from pvesim.fake import DemoPve
from tests.backup_guests import (
    CT,
    HOSTILE_NAME,
    HOSTILE_NOTES,
    VM,
    Made,
)


def test_storage_list(api: httpx.Client, pve: DemoPve) -> None:
    body = api.get("/api/v1/storage", params={"limit": 500}).json()["items"]
    nas = [s for s in body if s["storage"] == "nas-backup"]
    assert len(nas) == 1 and nas[0]["shared"] and nas[0]["warn"] and nas[0]["percent"] > 85
    assert sorted(s["node"] for s in body if s["storage"] == "local") == sorted(pve.nodes)


def test_storage_content(api: httpx.Client, backup_guests: Made) -> None:
    answer = api.get("/api/v1/storage/pve1/local/content", params={"content": "backup", "limit": 500})
    assert answer.status_code == 200
    volumes = answer.json()["items"]
    mine = next(v for v in volumes if v["volid"] == backup_guests.local_backup)
    assert mine["notes"] == HOSTILE_NOTES and mine["vmid"] == VM and mine["guest_type"] == "qemu"
    assert {v["content"] for v in volumes} == {"backup"}
    assert api.get("/api/v1/storage/pve1/nope/content").status_code == 404
    bad = api.get("/api/v1/storage/pve_1/local/content")
    assert bad.status_code == 422 and bad.json()["detail"] == "value does not look like a valid node name"


def test_storage_content_403_names_the_privilege(api: httpx.Client, pve: DemoPve) -> None:
    pve.fail(
        "GET",
        "/nodes/pve1/storage/local/content",
        403,
        "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)",
    )
    answer = api.get("/api/v1/storage/pve1/local/content")
    assert answer.status_code == 403 and "Datastore.Audit" in answer.json()["detail"]


def test_backups_with_filters(api: httpx.Client, backup_guests: Made) -> None:
    body = api.get("/api/v1/backups", params={"guest": VM}).json()
    assert [b["volid"] for b in body["items"]] == [backup_guests.local_backup, backup_guests.offsite_backup]
    assert body["total"] == 2 and body["problems"] == []
    local = body["items"][0]
    assert (local["storage"], local["node"], local["guest_name"]) == ("local", "pve1", HOSTILE_NAME)
    newest = api.get("/api/v1/backups", params={"guest": VM, "newest": "true"}).json()["items"]
    assert [b["volid"] for b in newest] == [backup_guests.local_backup]
    old = api.get("/api/v1/backups", params={"guest": VM, "older_than": 5}).json()["items"]
    assert [b["volid"] for b in old] == [backup_guests.offsite_backup]
    assert api.get("/api/v1/backups", params={"newer_than": "x"}).status_code == 422


def test_not_backed_up(api: httpx.Client, pve: DemoPve, backup_guests: Made) -> None:
    body = api.get("/api/v1/backups/not-backed-up", params={"limit": 500}).json()["items"]
    assert {"vmid": CT, "name": "nobackup-9102", "type": "lxc"} in body
    assert VM not in [g["vmid"] for g in body]
    pve.fail("GET", "/cluster/backup-info/not-backed-up", 403, "Permission check failed (/, Sys.Audit)")
    time.sleep(0.6)  # the list is cached as briefly as the cluster index (0.5 s in the tests)
    refused = api.get("/api/v1/backups/not-backed-up")
    assert refused.status_code == 403 and "Sys.Audit" in refused.json()["detail"]


def test_storage_of_one_node_and_content_of_an_unknown_node(api: httpx.Client, pve: DemoPve) -> None:
    mine = api.get("/api/v1/storage", params={"node": "pve2", "limit": 500}).json()["items"]
    assert {s["storage"] for s in mine} == {"local", "local-lvm", "ceph-vm", "nas-backup", "offsite-backup"}
    assert all(s["node"] in ("pve2", None) and "pve2" in s["nodes"] for s in mine)
    unknown = api.get("/api/v1/storage/2/local/content")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "There is no node '2'; choose one of: pve1, pve2, pve3."
