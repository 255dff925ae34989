"""A bulk POST with an Idempotency-Key: sent again (a retry, or ten at once) it answers the first batch and
Proxmox gets each guest's call once; the same key with another batch is refused, and keys are each person's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import People, people, sent
from tests.bulk_guests import add_vms, bulk_guests
from tests.factories import make_token, make_user, run_async
from tests.servers import AppServer


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range."""
    yield from bulk_guests(pve)


@pytest.fixture(scope="module")
def crew(settings: Settings) -> People:
    """An operator, two approvers and a viewer with tokens, made once for the module (argon2 is slow)."""
    return people(settings)


def bulk(
    client: httpx.Client, headers: dict[str, str], key: str, operation: str, **body: Any
) -> httpx.Response:
    """POST /api/v1/bulk/{operation} with this Idempotency-Key."""
    return client.post(f"/api/v1/bulk/{operation}", json=body, headers={**headers, "Idempotency-Key": key})


def shutdowns(pve: DemoPve, since: int) -> list[int]:
    """The guests Proxmox was asked to shut down since request `since` (one entry a call), in VMID order."""
    return sorted(
        int(r[1].split("/qemu/")[1].split("/")[0]) for r in sent(pve, since, "POST", "/status/shutdown")
    )


def ended(client: httpx.Client, headers: dict[str, str], batch_id: str) -> dict[str, Any]:
    """The batch once it has ended."""
    deadline = time.monotonic() + 20
    while (body := client.get(f"/api/v1/bulk/{batch_id}", headers=headers).json())["status"] == "running":
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    return dict(body)


def batches_of(client: httpx.Client, crew: People, vmids: list[int]) -> list[str]:
    """The ids of alice's batches that act on these guests (alice is this module's own)."""
    listed = client.get("/api/v1/bulk", params={"limit": 100}, headers=crew.alice).json()["items"]
    return [
        b["batch_id"]
        for b in listed
        if b["created_by"] == crew.alice_name and {i["vmid"] for i in b["items"]} & set(vmids)
    ]


def test_a_retried_bulk_post_answers_the_first_batch_and_runs_each_guest_once(
    client: httpx.Client, crew: People, pve: DemoPve, settings: Settings, guests: None
) -> None:
    vmids = add_vms(pve, range(8660, 8663))
    time.sleep(settings.resources_ttl + 0.1)
    since = len(pve.requests)
    first = bulk(client, crew.alice, "night-8660", "shutdown", vmids=vmids, reason="patch night")
    assert first.status_code == 202, first.text
    done = ended(client, crew.alice, first.json()["batch_id"])
    again = bulk(client, crew.alice, "night-8660", "shutdown", vmids=vmids, reason="patch night")
    assert again.status_code == 202, again.text
    assert again.json() == {**first.json(), "status": done["status"]}
    assert done["status"] == "done" and {vm.status for vm in pve.vms if vm.vmid in vmids} == {"stopped"}
    assert shutdowns(pve, since) == vmids, "one shutdown a guest, however often the POST came"
    assert batches_of(client, crew, vmids) == [first.json()["batch_id"]]


def test_the_same_key_with_another_batch_is_refused_naming_it(
    client: httpx.Client, crew: People, pve: DemoPve, settings: Settings, guests: None
) -> None:
    vmids = add_vms(pve, range(8663, 8665), status="stopped")
    time.sleep(settings.resources_ttl + 0.1)
    first = bulk(client, crew.alice, "start-8663", "start", vmids=vmids[:1], reason="morning")
    assert first.status_code == 202, first.text
    ended(client, crew.alice, first.json()["batch_id"])
    since = len(pve.requests)
    other = bulk(client, crew.alice, "start-8663", "start", vmids=vmids, reason="morning")
    assert other.status_code == 409, other.text
    assert "'start-8663'" in other.json()["detail"] and "another batch" in other.json()["detail"]
    assert [r for r in pve.requests[since:] if r[0] != "GET"] == [], "nothing is sent"
    assert [vm.status for vm in pve.vms if vm.vmid == vmids[1]] == ["stopped"]
    assert batches_of(client, crew, vmids) == [first.json()["batch_id"]]
    too_long = bulk(client, crew.alice, "k" * 129, "start", vmids=vmids, reason="morning")
    assert too_long.status_code == 422 and batches_of(client, crew, vmids) == [first.json()["batch_id"]]


def test_a_repeated_bulk_delete_is_the_same_one_request(
    client: httpx.Client, crew: People, pve: DemoPve, settings: Settings, guests: None
) -> None:
    vmids = add_vms(pve, range(8665, 8667), status="stopped")
    time.sleep(settings.resources_ttl + 0.1)
    asked = [bulk(client, crew.alice, "gone-8665", "delete", vmids=vmids, reason="old") for _ in range(2)]
    assert [a.status_code for a in asked] == [202, 202], asked[1].text
    assert asked[0].json() == asked[1].json() and asked[0].json()["status"] == "pending"
    pending = client.get("/api/v1/requests", params={"status": "pending", "limit": 500}, headers=crew.bob)
    mine = [r["id"] for r in pending.json()["items"] if r["requested"]["by"] == crew.alice_name]
    assert mine == [asked[0].json()["request_id"]], "one request to approve, not two"
    assert batches_of(client, crew, vmids) == [asked[0].json()["batch_id"]]


def test_keys_are_each_persons_own(
    client: httpx.Client, crew: People, pve: DemoPve, settings: Settings, guests: None
) -> None:
    vmids = add_vms(pve, range(8667, 8669))
    time.sleep(settings.resources_ttl + 0.1)
    dave = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'operator'))}"}
    since = len(pve.requests)
    people = (crew.alice, dave)
    firsts = [
        bulk(client, who, "shared-8667", "shutdown", vmids=[v]) for who, v in zip(people, vmids, strict=True)
    ]
    assert [f.status_code for f in firsts] == [202, 202], firsts[1].text
    ids = [f.json()["batch_id"] for f in firsts]
    assert len(set(ids)) == 2, "the same key from two people is two batches"
    assert [ended(client, who, i)["status"] for who, i in zip(people, ids, strict=True)] == ["done", "done"]
    assert shutdowns(pve, since) == vmids


def test_ten_identical_posts_at_once_make_one_batch(
    app_server: AppServer, client: httpx.Client, crew: People, pve: DemoPve, settings: Settings, guests: None
) -> None:
    vmids = add_vms(pve, range(8670, 8674))
    time.sleep(settings.resources_ttl + 0.1)
    since = len(pve.requests)
    headers = {**crew.alice, "Idempotency-Key": "burst-8670"}

    async def at_once() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=10)
        async with httpx.AsyncClient(base_url=app_server.url, timeout=30, limits=limits) as http:
            body = {"vmids": vmids, "reason": "all at once"}
            return await asyncio.gather(
                *(http.post("/api/v1/bulk/shutdown", json=body, headers=headers) for _ in range(10))
            )

    answers = run_async(at_once())
    started = {a.json()["batch_id"] for a in answers if a.status_code == 202}
    waiting = [a.json()["detail"] for a in answers if a.status_code != 202]
    assert len(started) == 1, [a.text for a in answers]
    assert set(waiting) <= {"This change is already being sent; its result appears in a moment."}
    done = ended(client, crew.alice, started.pop())
    assert done["status"] == "done" and shutdowns(pve, since) == vmids
    assert batches_of(client, crew, vmids) == [done["batch_id"]]
