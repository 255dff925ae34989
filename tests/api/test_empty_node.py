"""Emptying a node through the API: the plan (where each guest goes and why, or why it stays), the batch of
migrations that runs it, the guests that cannot move, an unknown node, and bringing the guests back. On a
cluster and an app of their own: emptying a node moves many guests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.test_ctl import ctl
from tests.api.test_actions import bearer
from tests.approval_guests import people, settle
from tests.conftest import app_settings
from tests.evacuation_guests import (
    DEVICE_VM,
    HA_VM,
    LOCAL_VM,
    MOVABLE,
    NODE,
    RUNNING_CT,
    SHARED_VM,
    STOPPED_VM,
    evacuation_app,
    own_database,
    served_cluster,
    until,
    where,
)
from tests.factories import make_token, make_user
from tests.fakepve_thread import PveApi, ServedFake
from tests.servers import AppServer


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFake]:
    """pve1-pve4, pve4 holding the guests of tests/evacuation_guests.py."""
    yield from served_cluster(tmp_path_factory.mktemp("evac-pki"))


@pytest.fixture(scope="module")
def evac_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own database."""
    yield from own_database(database_url, tmp_path_factory.mktemp("evac-data-db"))


@pytest.fixture(scope="module")
def evac_settings(
    cluster: ServedFake, evac_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The settings of this module's app, on that cluster and its own database."""
    return app_settings(cluster, evac_database, tmp_path_factory.mktemp("evac-data"))


@pytest.fixture(scope="module")
def evac_app(evac_settings: Settings) -> Iterator[AppServer]:
    """This module's app."""
    yield from evacuation_app(evac_settings)


@pytest.fixture(scope="module")
def http(evac_app: AppServer) -> Iterator[httpx.Client]:
    """A client of this module's app."""
    with httpx.Client(base_url=evac_app.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def operator(evac_settings: Settings) -> dict[str, str]:
    """An operator's API token."""
    return bearer(evac_settings, "operator")


def moves(answer: httpx.Response) -> dict[int, dict[str, Any]]:
    """The plan's moves by VMID."""
    assert answer.status_code in (200, 202), answer.text
    plan = answer.json() if "moves" in answer.json() else answer.json()["plan"]
    return {m["vmid"]: m for m in plan["moves"]}


def test_the_plan_says_where_each_guest_goes_and_why(http: httpx.Client, operator: dict[str, str]) -> None:
    answer = http.get(f"/api/v1/nodes/{NODE}/empty-node", headers=operator)

    plan = moves(answer)
    assert set(plan) == {SHARED_VM, STOPPED_VM, LOCAL_VM, DEVICE_VM, RUNNING_CT, HA_VM}
    assert plan[SHARED_VM]["action"] == "migrate" and plan[SHARED_VM]["online"] is True
    assert plan[SHARED_VM]["target"] in ("pve1", "pve2", "pve3")
    assert "memory free after it" in plan[SHARED_VM]["reason"]
    assert plan[STOPPED_VM]["action"] == "migrate" and plan[STOPPED_VM]["online"] is False
    assert "of local disks to local-lvm" in plan[STOPPED_VM]["reason"]
    assert plan[RUNNING_CT]["action"] == "migrate"
    assert plan[LOCAL_VM]["action"] == "stays" and "with_local_disks" in plan[LOCAL_VM]["reason"]
    assert plan[DEVICE_VM]["action"] == "stays" and "hostpci0" in plan[DEVICE_VM]["reason"]
    assert plan[HA_VM]["action"] == "migrate"
    assert any("ha-manager crm-command node-maintenance enable pve4" in n for n in answer.json()["notes"])


def test_an_ha_group_chooses_where_its_guest_goes(
    http: httpx.Client, operator: dict[str, str], cluster: ServedFake
) -> None:
    pve: DemoPve = cluster.pve  # type: ignore[assignment]
    pve.ha_groups["fast"] = {"nodes": "pve3:2,pve1:1", "restricted": 1}
    pve.ha_group_of[HA_VM] = "fast"
    try:
        plan = moves(http.get(f"/api/v1/nodes/{NODE}/empty-node", headers=operator))
    finally:
        pve.ha_groups.clear()
        pve.ha_group_of.clear()

    assert plan[HA_VM]["target"] == "pve3"
    assert plan[HA_VM]["reason"].startswith("HA group fast allows only pve3, pve1; ")


def test_copying_local_disks_lets_the_running_vm_on_local_storage_move(
    http: httpx.Client, operator: dict[str, str]
) -> None:
    plan = moves(http.get(f"/api/v1/nodes/{NODE}/empty-node?with_local_disks=true", headers=operator))

    assert plan[LOCAL_VM]["action"] == "migrate" and plan[LOCAL_VM]["with_local_disks"] is True
    assert plan[DEVICE_VM]["action"] == "stays"


def test_an_unknown_node_is_refused_naming_the_nodes(http: httpx.Client, operator: dict[str, str]) -> None:
    answer = http.post("/api/v1/nodes/pve9/actions/empty-node", json={"reason": "x"}, headers=operator)

    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "detail": "There is no node 'pve9'; choose one of: pve1, pve2, pve3, pve4.",
        "field": "node",
    }
    query = {"operation": "empty-node", "q": "pve9"}
    [event] = http.get("/api/v1/audit", params=query, headers=operator).json()["items"]
    assert (event["outcome"], event["message"]) == ("denied", answer.json()["detail"])


def test_a_viewer_may_not_empty_a_node(http: httpx.Client, evac_settings: Settings) -> None:
    viewer = bearer(evac_settings, "viewer")

    answer = http.post(f"/api/v1/nodes/{NODE}/actions/empty-node", json={}, headers=viewer)

    assert answer.status_code == 403, answer.text


def test_empty_node_is_in_the_catalogue_with_its_parameters(
    http: httpx.Client, operator: dict[str, str]
) -> None:
    found = http.get("/api/v1/operations", params={"limit": 100}, headers=operator).json()["items"]

    op = next(o for o in found if o["name"] == "empty-node")
    assert op["target"] == "node" and op["risk"] == "reversible"
    assert {"with_local_disks", "concurrency", "stop_on_failure"} <= set(op["parameters"]["properties"])
    misplaced = http.post("/api/v1/actions/empty-node", json={}, headers=operator)
    assert misplaced.status_code == 404
    assert misplaced.json()["detail"] == (
        "'empty-node' acts on a node: POST /api/v1/nodes/{node}/actions/empty-node."
    )


def ended_batch(http: httpx.Client, headers: dict[str, str], batch_id: str) -> dict[str, Any]:
    """GET /api/v1/bulk/{batch_id} once the batch has ended."""

    def ended() -> dict[str, Any] | None:
        found: dict[str, Any] = http.get(f"/api/v1/bulk/{batch_id}", headers=headers).json()
        return found if found["status"] in ("done", "stopped") else None

    return until(ended)


def bring_back(http: httpx.Client, headers: dict[str, str], batch_id: str) -> httpx.Response:
    """POST bring-back for the guests that batch moved off NODE."""
    body = {"batch_id": batch_id, "reason": "maintenance is over"}
    return http.post(f"/api/v1/nodes/{NODE}/actions/bring-back", json=body, headers=headers)


def test_emptying_moves_every_guest_that_can_go_and_bringing_back_returns_them(
    http: httpx.Client, operator: dict[str, str], cluster: ServedFake
) -> None:
    pve: DemoPve = cluster.pve  # type: ignore[assignment]
    body = {"reason": "kernel update", "concurrency": 2}

    answer = http.post(f"/api/v1/nodes/{NODE}/actions/empty-node", json=body, headers=operator)

    assert answer.status_code == 202, answer.text
    batch_id = answer.json()["batch_id"]
    assert answer.json()["status"] == "running" and answer.json()["url"].endswith(f"/batches/{batch_id}")
    batch = ended_batch(http, operator, batch_id)
    assert (batch["status"], batch["kind"]) == ("done", "empty-node")
    assert {i["vmid"]: i["status"] for i in batch["items"]} == dict.fromkeys(MOVABLE, "succeeded")
    assert all(where(pve, v) != NODE for v in MOVABLE)
    assert where(pve, LOCAL_VM) == NODE and where(pve, DEVICE_VM) == NODE
    query = {"vmid": SHARED_VM, "operation": "migrate", "batch": batch_id}
    events = http.get("/api/v1/audit", params=query, headers=operator).json()["items"]
    ended = [e for e in events if e["outcome"] == "succeeded"]
    assert ended and ended[0]["message"].startswith(f"OK: moved from {NODE} to ")

    back = bring_back(http, operator, batch_id)

    assert back.status_code == 202, back.text
    assert set(moves(back)) == set(MOVABLE)
    returned = ended_batch(http, operator, back.json()["batch_id"])
    assert (returned["kind"], returned["status"]) == ("bring-back", "done")
    until(lambda: all(where(pve, v) == NODE for v in MOVABLE))


def test_a_stopped_emptying_brings_back_only_the_guests_it_moved(
    http: httpx.Client, operator: dict[str, str], cluster: ServedFake
) -> None:
    pve: DemoPve = cluster.pve  # type: ignore[assignment]
    pve.time_scale = 0.05  # a migration takes a few tenths of a second: time to stop the batch
    try:
        body = {"reason": "kernel update", "concurrency": 1}
        started = http.post(f"/api/v1/nodes/{NODE}/actions/empty-node", json=body, headers=operator)
        batch_id = started.json()["batch_id"]
        until(
            lambda: (
                http.get(f"/api/v1/bulk/{batch_id}", headers=operator).json()["items"][0]["status"]
                == "running"
            )
        )

        stopped = http.post(f"/api/v1/bulk/{batch_id}/stop", headers=operator)

        assert stopped.status_code == 200, stopped.text
        batch = ended_batch(http, operator, batch_id)
    finally:
        pve.time_scale = 0
    assert batch["status"] == "stopped"
    moved = [i["vmid"] for i in batch["items"] if i["status"] == "succeeded"]
    skipped = [i["vmid"] for i in batch["items"] if i["status"] == "skipped"]
    assert len(moved) == 1 and len(skipped) == len(MOVABLE) - 1
    assert where(pve, moved[0]) != NODE and all(where(pve, v) == NODE for v in skipped)

    back = bring_back(http, operator, batch_id)

    assert back.status_code == 202, back.text
    assert [m["vmid"] for m in back.json()["plan"]["moves"]] == moved
    until(lambda: where(pve, moved[0]) == NODE)


def test_named_in_the_approval_policy_emptying_waits_for_another_person(
    http: httpx.Client, operator: dict[str, str], cluster: ServedFake, evac_settings: Settings, tmp_path: Path
) -> None:
    pve: DemoPve = cluster.pve  # type: ignore[assignment]
    held = evac_settings.model_copy(update={"approval_operations": "empty-node", "data_dir": tmp_path})
    for server in evacuation_app(held):
        crew = people(held)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            catalogue = client.get("/api/v1/operations", params={"limit": 100}, headers=crew.alice).json()
            needs = {o["name"]: o["needs_approval"] for o in catalogue["items"]}
            assert (needs["empty-node"], needs["migrate"]) == (True, False)

            body = {"reason": "firmware update"}
            asked = client.post(f"/api/v1/nodes/{NODE}/actions/empty-node", json=body, headers=crew.alice)

            assert asked.status_code == 202, asked.text
            assert asked.json()["status"] == "pending" and "/approvals/" in asked.json()["url"]
            assert all(where(pve, v) == NODE for v in MOVABLE), "nothing moves before the approval"
            rid = asked.json()["request_id"]
            client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob)
            assert settle(client, crew.bob, rid)["status"] == "succeeded"
    assert all(where(pve, v) != NODE for v in MOVABLE)
    ended_batch(http, operator, asked.json()["batch_id"])
    assert bring_back(http, operator, asked.json()["batch_id"]).status_code == 202
    until(lambda: all(where(pve, v) == NODE for v in MOVABLE))


def test_ctl_empties_a_node_and_brings_its_guests_back(
    http: httpx.Client, evac_app: AppServer, evac_settings: Settings, cluster: ServedFake
) -> None:
    pve: DemoPve = cluster.pve  # type: ignore[assignment]
    token = make_token(evac_settings, make_user(evac_settings, "operator"))

    ran = ctl(
        evac_app, token, "empty-node", NODE, "--concurrency", "2", "--reason", "kernel update", "--wait"
    )

    assert ran.code == 0, ran
    head, *rows = ran.lines
    assert head.startswith("done\t")
    assert sorted(int(r.split("\t")[1]) for r in rows) == sorted(MOVABLE)
    assert all(r.startswith("succeeded\t") for r in rows)
    assert all(where(pve, v) != NODE for v in MOVABLE)
    batch_id = head.split("\t")[1]
    back = ctl(evac_app, token, "bring-back", NODE, batch_id, "--reason", "kernel updated", "--wait")
    assert back.code == 0, back
    assert back.lines[0].startswith("done\t")
    assert sorted(int(r.split("\t")[1]) for r in back.lines[1:]) == sorted(MOVABLE)
    until(lambda: all(where(pve, v) == NODE for v in MOVABLE))


def test_in_ha_maintenance_mode_ha_moves_its_guests_and_brings_them_back(
    http: httpx.Client, operator: dict[str, str], cluster: ServedFake
) -> None:
    pve: DemoPve = cluster.pve  # type: ignore[assignment]
    cluster.call(pve.demo_node_maintenance(NODE, True))
    try:
        until(lambda: where(pve, HA_VM) != NODE)

        def plan() -> httpx.Response | None:
            # Once the app's cluster view (kept half a second) has seen HA move it.
            answer = http.get(f"/api/v1/nodes/{NODE}/empty-node", headers=operator)
            return answer if HA_VM not in moves(answer) else None

        answer = until(plan)
        assert answer.json()["maintenance"] is True and answer.json()["notes"] == []
        assert SHARED_VM in moves(answer)
        fake = PveApi(cluster)
        lrm = {e["id"]: e["status"] for e in fake.data("GET", "/cluster/ha/status/current")}
        fake.close()
        assert lrm[f"lrm:{NODE}"].startswith(f"{NODE} (maintenance mode, watchdog active, ")
        there = where(pve, HA_VM)
        idle = next(n for n in ("pve1", "pve2", "pve3") if n != there)
        assert lrm[f"lrm:{there}"].startswith(f"{there} (active, watchdog active, ")
        assert lrm[f"lrm:{idle}"].startswith(f"{idle} (idle, watchdog standby, ")
    finally:
        cluster.call(pve.demo_node_maintenance(NODE, False))
    until(lambda: where(pve, HA_VM) == NODE)
