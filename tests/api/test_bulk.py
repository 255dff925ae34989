"""Bulk actions through the API: one operation for many guests as a batch (a few at a time, each guest's
result), a destructive one as ONE request approved by another person, stop after the first failure, Stop,
and every input checked before anything is sent to Proxmox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import People, people, settle
from tests.bulk_guests import add_vms, bulk_guests


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range."""
    yield from bulk_guests(pve)


@pytest.fixture(scope="module")
def crew(settings: Settings) -> People:
    """An operator, two approvers and a viewer with tokens, made once for the module (argon2 is slow)."""
    return people(settings)


def bulk(client: httpx.Client, headers: dict[str, str], operation: str, **body: Any) -> httpx.Response:
    """POST /api/v1/bulk/{operation}."""
    return client.post(f"/api/v1/bulk/{operation}", json=body, headers=headers)


def finished(
    client: httpx.Client, headers: dict[str, str], batch_id: str, timeout: float = 20
) -> dict[str, Any]:
    """The batch once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/v1/bulk/{batch_id}", headers=headers).json()
        if body["status"] not in ("pending", "running"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def statuses(pve: DemoPve, vmids: list[int]) -> dict[int, str]:
    """Each guest's status as Proxmox holds it."""
    return {vm.vmid: vm.status for vm in pve.vms if vm.vmid in vmids}


def story(client: httpx.Client, headers: dict[str, str], batch_id: str) -> list[dict[str, Any]]:
    """The audit events of the batch, oldest first."""
    answer = client.get("/api/v1/audit", params={"batch": batch_id, "limit": 500}, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["items"]))


def test_a_bulk_shutdown_runs_every_guest_and_tells_one_story(
    client: httpx.Client, crew: People, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8600, 8605))
    started = bulk(client, crew.alice, "shutdown", vmids=vmids, reason="patch night", timeout=30)
    assert started.status_code == 202, started.text
    batch_id = started.json()["batch_id"]
    assert started.json()["url"].endswith(f"/batches/{batch_id}")
    done = finished(client, crew.alice, batch_id)
    assert done["status"] == "done"
    assert [(i["vmid"], i["status"]) for i in done["items"]] == [(v, "succeeded") for v in vmids]
    assert all(i["upid"] and i["upid"].startswith("UPID:pve1:") for i in done["items"])
    assert set(statuses(pve, vmids).values()) == {"stopped"}
    events = story(client, crew.alice, batch_id)
    assert {e["vmid"] for e in events if e["vmid"]} == set(vmids)
    assert all(e["batch_id"] == batch_id for e in events)
    for vmid in vmids:
        assert [e["outcome"] for e in events if e["vmid"] == vmid] == ["intent", "started", "succeeded"]
    assert events[0]["outcome"] == "started" and "patch night" in events[0]["message"]
    assert events[-1]["outcome"] == "succeeded" and "5 succeeded" in events[-1]["message"]


def test_a_bulk_delete_is_one_request_another_person_approves(
    client: httpx.Client, crew: People, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8610, 8613), status="stopped", disk=True)
    asked = bulk(client, crew.alice, "delete", vmids=vmids, reason="decommissioned", purge=True)
    assert asked.status_code == 202, asked.text
    answer = asked.json()
    assert answer["status"] == "pending" and answer["url"].endswith(f"/approvals/{answer['request_id']}")
    request = client.get(f"/api/v1/requests/{answer['request_id']}", headers=crew.bob).json()
    assert [g["vmid"] for g in request["preview"]["data"]["guests"]] == vmids
    assert request["preview"]["losses"] == [
        f"{v} bulk{v}: Disk scsi0: local-lvm:vm-{v}-disk-0 (2 GiB) is destroyed" for v in vmids
    ]
    assert request["target"]["name"] == "3 guests"
    waiting = client.get(f"/api/v1/bulk/{answer['batch_id']}", headers=crew.alice).json()
    assert waiting["status"] == "pending" and {i["status"] for i in waiting["items"]} == {"waiting"}
    assert set(statuses(pve, vmids)) == set(vmids), "nothing is deleted before the approval"

    own = client.post(f"/api/v1/requests/{answer['request_id']}/approve", json={}, headers=crew.alice)
    assert own.status_code == 403
    approved = client.post(
        f"/api/v1/requests/{answer['request_id']}/approve", json={"confirm": "3 guests"}, headers=crew.bob
    )
    assert approved.status_code == 200, approved.text
    done = finished(client, crew.alice, answer["batch_id"])
    assert done["status"] == "done", done
    assert statuses(pve, vmids) == {}, "the guests are gone from Proxmox"
    assert settle(client, crew.alice, answer["request_id"])["status"] == "succeeded"
    events = story(client, crew.alice, answer["batch_id"])
    outcomes = [(e["actor_name"], e["outcome"], e["vmid"]) for e in events]
    assert outcomes[0] == (crew.alice_name, "requested", None)
    assert outcomes[1] == (crew.alice_name, "denied", None), "her own approval, refused, is on the record"
    assert outcomes[2] == (crew.bob_name, "approved", None)
    assert {(o, v) for _, o, v in outcomes if v} == {
        (o, v) for v in vmids for o in ("intent", "started", "succeeded")
    }
    assert all(e["approval_id"] == answer["request_id"] for e in events[:3])


def test_a_bulk_request_whose_guest_changed_runs_nothing(
    client: httpx.Client, crew: People, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8620, 8623), status="stopped")
    asked = bulk(client, crew.alice, "delete", vmids=vmids, reason="old").json()
    for vm in pve.vms:
        if vm.vmid == vmids[1]:
            vm.status = vm.qmpstatus = "running"
    approved = client.post(
        f"/api/v1/requests/{asked['request_id']}/approve", json={"confirm": "3 guests"}, headers=crew.bob
    )
    assert approved.status_code == 200, approved.text
    ended = settle(client, crew.alice, asked["request_id"])
    assert ended["status"] == "failed"
    assert f"guest {vmids[1]}: its status was stopped and is running now" in ended["result"]["message"]
    done = finished(client, crew.alice, asked["batch_id"])
    assert done["status"] == "stopped" and {i["status"] for i in done["items"]} == {"skipped"}
    assert set(statuses(pve, vmids)) == set(vmids), "nothing was deleted"


def test_stop_after_the_first_failure(client: httpx.Client, crew: People, pve: DemoPve, guests: None) -> None:
    vmids = add_vms(pve, range(8630, 8634))
    pve.fail("POST", f"/nodes/pve1/qemu/{vmids[0]}/status/stop", 500, "the disk is gone")
    started = bulk(client, crew.alice, "stop", vmids=vmids, reason="r", stop_on_failure=True, concurrency=1)
    done = finished(client, crew.alice, started.json()["batch_id"])
    assert done["status"] == "stopped"
    assert [i["status"] for i in done["items"]] == ["failed", "skipped", "skipped", "skipped"]
    assert "the disk is gone" in done["items"][0]["message"]
    assert set(statuses(pve, vmids[1:]).values()) == {"running"}


def test_stop_skips_the_guests_not_started(
    client: httpx.Client, crew: People, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8640, 8646))
    for vm in pve.vms:
        if vm.vmid in vmids:
            vm.stop_secs = 20
    scale, pve.time_scale = pve.time_scale, 0.05
    try:
        started = bulk(client, crew.alice, "stop", vmids=vmids, reason="r", concurrency=2).json()
        stopped = client.post(f"/api/v1/bulk/{started['batch_id']}/stop", headers=crew.alice)
        assert stopped.status_code == 200, stopped.text
        done = finished(client, crew.alice, started["batch_id"])
    finally:
        pve.time_scale = scale
    assert done["status"] == "stopped"
    ran = [i["vmid"] for i in done["items"] if i["status"] == "succeeded"]
    skipped = [i["vmid"] for i in done["items"] if i["status"] == "skipped"]
    assert len(ran) <= 2 and ran + skipped == vmids
    assert set(statuses(pve, skipped).values()) == {"running"}
    again = client.post(f"/api/v1/bulk/{started['batch_id']}/stop", headers=crew.alice)
    assert again.status_code == 409
    stops = [e for e in story(client, crew.alice, started["batch_id"]) if e["outcome"] == "cancelled"]
    assert [(e["actor_name"], e["params"]["skipped"]) for e in stops] == [(crew.alice_name, len(skipped))]


@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [
        ("suspend", {"vmids": [8650]}, "operation"),
        ("stop", {"vmids": [8650, 8699]}, "vmids"),
        ("stop", {"vmids": "8650"}, "vmids"),
        ("stop", {"vmids": []}, "vmids"),
        ("snapshot", {"vmids": [8650], "snapname": "no spaces"}, "snapname"),
        ("stop", {"vmids": [8650], "timeout": -1}, "timeout"),
        ("stop", {"vmids": [8650], "colour": "red"}, "colour"),
        ("stop", {"vmids": [8650], "concurrency": 500}, "concurrency"),
        ("delete", {"vmids": [8650], "reason": ""}, "reason"),
        ("tag", {"vmids": [8650], "add": ["web", "bad!"]}, "add"),
        ("tag", {"vmids": [8650], "add": ["ok"], "remove": ["-leading-dash"]}, "remove"),
        ("tag", {"vmids": [8650]}, "add"),
        ("tag", {"vmids": [8650, 8699], "add": ["ok"]}, "vmids"),
        ("tag", {"vmids": [8650], "add": ["ok"], "colour": "red"}, "colour"),
    ],
)
def test_nothing_is_sent_when_any_input_is_wrong(
    client: httpx.Client,
    crew: People,
    pve: DemoPve,
    guests: None,
    operation: str,
    body: dict[str, Any],
    field: str,
) -> None:
    add_vms(pve, [8650], status="stopped" if operation == "delete" else "running")
    before = len(pve.requests)
    answer = bulk(client, crew.alice, operation, **body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert [r for r in pve.requests[before:] if r[0] != "GET"] == []


def test_a_viewer_may_not_act_in_bulk(client: httpx.Client, crew: People, pve: DemoPve, guests: None) -> None:
    vmids = add_vms(pve, [8660])
    assert bulk(client, crew.viewer, "stop", vmids=vmids, reason="r").status_code == 403
    assert client.get("/api/v1/bulk/nosuchbatch", headers=crew.viewer).status_code == 404


def test_a_viewer_reads_batches(
    client: httpx.Client, crew: People, settings: Settings, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, [8670])
    batch_id = bulk(client, crew.alice, "stop", vmids=vmids, reason="r").json()["batch_id"]
    finished(client, crew.alice, batch_id)
    listed = client.get("/api/v1/bulk", headers=crew.viewer).json()["items"]
    assert batch_id in [b["batch_id"] for b in listed]


def test_a_refused_bulk_action_is_on_the_record(
    client: httpx.Client, crew: People, pve: DemoPve, guests: None
) -> None:
    add_vms(pve, [8651])
    refused = bulk(client, crew.alice, "reboot", vmids=[8651, 8698], reason="r")
    assert refused.status_code == 422 and refused.json()["detail"] == "There is no guest 8698."
    events = client.get(
        "/api/v1/audit",
        params={"actor": crew.alice_name, "operation": "reboot", "limit": 1},
        headers=crew.alice,
    ).json()["items"]
    assert events[0]["outcome"] == "invalid" and events[0]["message"] == "There is no guest 8698."
    assert events[0]["params"] == {"vmids": "8651,8698"}


def test_a_bulk_tag_gives_each_guest_its_own_new_tags(
    client: httpx.Client, crew: People, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8610, 8614), status="stopped")
    for vmid, tags in zip(vmids, ("old;web", "OLD", "", "prod"), strict=True):
        if tags:
            pve.vm(vmid).config["tags"] = tags
    before = len(pve.requests)
    started = bulk(client, crew.alice, "tag", vmids=vmids, reason="label", add=["prod"], remove=["old"])
    assert started.status_code == 202, started.text
    done = finished(client, crew.alice, started.json()["batch_id"])
    assert done["status"] == "done" and done["operation"] == "configure"
    assert done["meta"]["tag"] == {"add": ["prod"], "remove": ["old"]}
    assert [(i["vmid"], i["status"]) for i in done["items"]] == [(v, "succeeded") for v in vmids]
    assert [pve.vm(v).config.get("tags") for v in vmids] == ["web;prod", "prod", "prod", "prod"]
    unchanged = done["items"][3]
    assert unchanged["upid"] is None and "already" in unchanged["message"]
    sent = [r for r in pve.requests[before:] if r[0] != "GET"]
    assert sorted(r[1] for r in sent) == sorted(f"/api2/json/nodes/pve1/qemu/{v}/config" for v in vmids[:3])
