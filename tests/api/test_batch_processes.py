"""Batches across processes: a batch whose process is killed mid-way is carried on by another process on the same
database (every guest run once), and a batch its live process runs is never taken from it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.db.migrate import upgrade_database
from pvesim.fake import DemoPve
from tests.approval_guests import People, people, select_rows, sent, settle
from tests.bulk_guests import add_vms, bulk_guests
from tests.conftest import app_settings
from tests.factories import signed_in
from tests.fakepve_thread import ServedFake
from tests.processes import AppProcess

# Short enough for a test to see a lease run out; long enough for renewals (every third of it) to keep up.
LEASE_SECONDS = 5.0


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range."""
    yield from bulk_guests(pve)


@pytest.fixture
def shared(served_fake: ServedFake, empty_database: str, tmp_path: Path) -> Settings:
    """Settings of app processes sharing one new database, with short batch leases."""
    upgrade_database(empty_database)
    return app_settings(served_fake, empty_database, tmp_path, batch_lease_seconds=LEASE_SECONDS)


@contextlib.contextmanager
def slow_stops(pve: DemoPve, vmids: list[int], seconds: float) -> Iterator[None]:
    """Each guest's stop task takes `seconds` of real time."""
    for vm in pve.vms:
        if vm.vmid in vmids:
            vm.stop_secs = int(seconds * 20)
    scale, pve.time_scale = pve.time_scale, 0.05
    try:
        yield
    finally:
        pve.time_scale = scale


def start_stops(url: str, crew: People, vmids: list[int], concurrency: int) -> str:
    """A bulk stop of these guests through the API; its batch id."""
    body = {"vmids": vmids, "reason": "restart test", "concurrency": concurrency}
    answer = httpx.post(f"{url}/api/v1/bulk/stop", json=body, headers=crew.alice, timeout=30)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["batch_id"])


def items_now(settings: Settings, batch_id: str) -> list[tuple[int, str, str | None]]:
    """(vmid, status, upid) of each guest of the batch, as the database holds them."""
    query = "SELECT vmid, status, upid FROM batch_items WHERE batch_id = :id ORDER BY position"
    return [tuple(row) for row in select_rows(settings, query, id=batch_id)]  # type: ignore[misc]


def finished(url: str, crew: People, batch_id: str, timeout: float) -> dict[str, Any]:
    """The batch once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = httpx.get(
            f"{url}/api/v1/bulk/{batch_id}", headers=crew.alice, timeout=30
        ).json()
        if body["status"] not in ("pending", "running"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def story(url: str, crew: People, batch_id: str) -> list[dict[str, Any]]:
    """The batch's audit events, oldest first."""
    answer = httpx.get(
        f"{url}/api/v1/audit", params={"batch": batch_id, "limit": 500}, headers=crew.alice, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["items"]))


def test_a_batch_whose_process_was_killed_is_carried_on_by_another(
    shared: Settings, pve: DemoPve, tmp_path: Path, guests: None
) -> None:
    crew = people(shared)
    vmids = add_vms(pve, range(8680, 8685))
    seen = len(pve.requests)
    first = AppProcess(shared, tmp_path / "first.log")
    with slow_stops(pve, vmids, 3.0):
        try:
            batch_id = start_stops(first.url, crew, vmids, concurrency=2)
            deadline = time.monotonic() + 20
            while [(s, bool(u)) for _, s, u in items_now(shared, batch_id)][:2] != [("running", True)] * 2:
                assert time.monotonic() < deadline, items_now(shared, batch_id)
                time.sleep(0.05)
            first.kill()  # mid-batch: two guests sent, three waiting
        finally:
            first.stop()
        left = [vmid for vmid, status, _ in items_now(shared, batch_id) if status == "waiting"]
        assert left == vmids[2:]
        second = AppProcess(shared, tmp_path / "second.log")
        try:
            # Its watcher follows the first's two tasks once their leases (30 s) ran out; then the rest run.
            done = finished(second.url, crew, batch_id, timeout=90)
            events = story(second.url, crew, batch_id)
            with signed_in(second.url, crew.alice_name) as http:
                page = http.get(f"/batches/{batch_id}").text
        finally:
            second.stop()
    assert done["status"] == "done", done
    assert [(i["vmid"], i["status"]) for i in done["items"]] == [(v, "succeeded") for v in vmids]
    assert {vm.vmid: vm.status for vm in pve.vms if vm.vmid in vmids} == dict.fromkeys(vmids, "stopped")
    for vmid in vmids:
        assert len(sent(pve, seen, "POST", f"/qemu/{vmid}/status/stop")) == 1, f"guest {vmid} ran once"
    assert done["resumed_by"] and f":{second.proc.pid}:" in done["resumed_by"] and done["resumed_at"]
    resumed = [e for e in events if e["outcome"] == "resumed"]
    assert len(resumed) == 1, "one process took it over, once"
    assert resumed[0]["actor_name"] == "proxgate" and resumed[0]["auth_method"] == "system"
    assert resumed[0]["params"]["process"] == done["resumed_by"] and resumed[0]["params"]["waiting"] == 3
    assert f"resumed by process {done['resumed_by']}: 3 guest(s) waiting" in resumed[0]["message"]
    carried = [e for e in events if e["vmid"] in left and e["outcome"] == "intent"]
    assert sorted((e["vmid"], e["actor_name"], e["auth_method"]) for e in carried) == [
        (v, crew.alice_name, "resumed") for v in left
    ], "the waiting guests ran in the name of the batch's owner"
    assert events[-1]["outcome"] == "succeeded" and "5 succeeded" in events[-1]["message"]
    assert 'id="batch-resumed"' in page and f"by process {done['resumed_by']}" in page


def test_a_batch_its_live_process_runs_is_not_taken_over(
    shared: Settings, pve: DemoPve, tmp_path: Path, guests: None
) -> None:
    crew = people(shared)
    vmids = add_vms(pve, range(8690, 8694))
    seen = len(pve.requests)
    runner = AppProcess(shared, tmp_path / "runner.log")
    other = AppProcess(shared, tmp_path / "other.log")
    with slow_stops(pve, vmids, 3.0):
        try:
            # One at a time: the batch lasts about 12 s, more than a lease and a round of the other's looking.
            batch_id = start_stops(runner.url, crew, vmids, concurrency=1)
            done = finished(other.url, crew, batch_id, timeout=60)
            events = story(other.url, crew, batch_id)
        finally:
            other.stop()
            runner.stop()
    assert done["status"] == "done" and done["resumed_by"] is None, done
    assert [i["status"] for i in done["items"]] == ["succeeded"] * 4
    assert [e for e in events if e["outcome"] == "resumed"] == []
    for vmid in vmids:
        assert len(sent(pve, seen, "POST", f"/qemu/{vmid}/status/stop")) == 1
    lease = select_rows(shared, "SELECT lease_owner, lease_until FROM batches WHERE id = :id", id=batch_id)
    assert lease == [(None, None)], "the batch's end let go of its lease"


def test_an_approved_bulk_delete_goes_on_after_its_process_was_killed(
    served_fake: ServedFake, empty_database: str, pve: DemoPve, tmp_path: Path, guests: None
) -> None:
    upgrade_database(empty_database)
    shared = app_settings(
        served_fake, empty_database, tmp_path, batch_lease_seconds=LEASE_SECONDS, proxmox_timeout=1.0
    )
    crew = people(shared)
    vmids = add_vms(pve, range(8695, 8698), status="stopped", disk=True)
    seen = len(pve.requests)
    first = AppProcess(shared, tmp_path / "first.log")
    try:
        body = {"vmids": vmids, "reason": "decommissioned", "purge": True, "concurrency": 1}
        asked = httpx.post(
            f"{first.url}/api/v1/bulk/delete", json=body, headers=crew.alice, timeout=30
        ).json()
        # The first guest is deleted at once but answered too late: its outcome is for the reconciler to find.
        pve.answer_late("DELETE", f"/qemu/{vmids[0]}", 3.0)
        approved = httpx.post(
            f"{first.url}/api/v1/requests/{asked['request_id']}/approve",
            json={"confirm": "3 guests"},
            headers=crew.bob,
            timeout=30,
        )
        assert approved.status_code == 200, approved.text
        query = "SELECT id FROM executions WHERE batch_id = :id"
        deadline = time.monotonic() + 15
        while not select_rows(shared, query, id=asked["batch_id"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first.kill()  # its first guest's call is out, the two others wait
    finally:
        first.stop()
        pve.late_answers.clear()
    second = AppProcess(shared, tmp_path / "second.log")
    try:
        done = finished(second.url, crew, asked["batch_id"], timeout=90)
        with httpx.Client(base_url=second.url, timeout=30) as client:
            request = settle(client, crew.alice, asked["request_id"])
        events = story(second.url, crew, asked["batch_id"])
    finally:
        second.stop()
    assert done["status"] == "done", done
    assert [(i["vmid"], i["status"]) for i in done["items"]] == [(v, "succeeded") for v in vmids]
    assert [vm.vmid for vm in pve.vms if vm.vmid in vmids] == [], "every guest is gone from Proxmox"
    assert [len(sent(pve, seen, "DELETE", f"/qemu/{v}")) for v in vmids] == [1, 1, 1]
    assert request["status"] == "succeeded", "the batch's end finished its request"
    resumed = [e for e in events if e["outcome"] == "resumed"]
    assert len(resumed) == 1 and resumed[0]["params"]["waiting"] == 2
    assert done["resumed_by"] == resumed[0]["params"]["process"]
