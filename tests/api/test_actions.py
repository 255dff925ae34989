"""Actions through the JSON API: executed, audited before and after, followed to the task's end."""

from __future__ import annotations

import asyncio
import html
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.db.engine import create_engine, session_factory
from app.db.migrate import upgrade_database
from app.db.models import Role
from app.proxmox.client import PveClient
from app.services import audit
from app.services.accounts.auth import Principal
from app.services.audit import binding as audit_binding
from app.services.audit.query import AuditFilter, list_events
from app.services.cluster.connection import pve_connection
from app.services.pipeline.actions import ActionService, OutcomeUnknown
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm
from tests.conftest import app_settings
from tests.factories import make_token, make_user
from tests.fakepve_thread import ServedFake

ACTOR = audit.Actor(1, "alice", "session")


def bearer(settings: Settings, role: str) -> dict[str, str]:
    """Headers of a fresh user's API token."""
    return {"Authorization": f"Bearer {make_token(settings, make_user(settings, role))}"}


def wait_for_event(
    client: httpx.Client, headers: dict[str, str], upid: str, timeout: float = 15
) -> dict[str, Any]:
    """The task-end event the watcher writes for this UPID."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = client.get("/api/v1/audit", params={"q": upid}, headers=headers).json()["items"]
        ended = [e for e in items if e["outcome"] in ("succeeded", "failed", "unknown")]
        if ended:
            return ended[0]
        time.sleep(0.2)
    raise AssertionError(f"no end event for {upid}")


@pytest.fixture
def stopped_vm(pve: DemoPve) -> Iterator[Any]:
    """A stopped, unlocked VM of the demo; stopped again afterwards."""
    vm = next(v for v in pve.vms if v.status == "stopped" and not v.template and not v.lock)
    yield vm
    vm.status, vm.qmpstatus = "stopped", "stopped"


def test_operator_starts_a_vm_and_the_end_is_audited(
    client: httpx.Client, settings: Settings, pve: DemoPve, stopped_vm: Any
) -> None:
    headers = bearer(settings, "operator")
    answer = client.post(f"/api/v1/guests/{stopped_vm.vmid}/actions/start", json={}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["upid"].startswith(f"UPID:{stopped_vm.node}:") and ":qmstart:" in body["upid"]
    assert body["description"] == f"Start VM {stopped_vm.vmid} {stopped_vm.name} on {stopped_vm.node}"
    end = wait_for_event(client, headers, body["upid"])
    assert end["outcome"] == "succeeded" and end["message"] == "OK"
    assert pve.vm(stopped_vm.vmid).status == "running"
    trail = client.get(
        "/api/v1/audit", params={"vmid": stopped_vm.vmid, "operation": "start"}, headers=headers
    )
    outcomes = [e["outcome"] for e in trail.json()["items"]][:3]
    assert outcomes == ["succeeded", "started", "intent"]


def test_viewer_is_refused_and_the_refusal_is_audited(
    client: httpx.Client, settings: Settings, pve: DemoPve, stopped_vm: Any
) -> None:
    headers = bearer(settings, "viewer")
    answer = client.post(f"/api/v1/guests/{stopped_vm.vmid}/actions/start", json={}, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["detail"] == "Start needs the operator role; you are viewer."
    assert pve.vm(stopped_vm.vmid).status == "stopped"
    events = client.get(
        "/api/v1/audit", params={"vmid": stopped_vm.vmid, "outcome": "denied"}, headers=headers
    )
    assert any("may not change anything" in (e["message"] or "") for e in events.json()["items"])


def test_bad_parameters_are_refused_before_any_upstream_call(
    client: httpx.Client, settings: Settings, pve: DemoPve, stopped_vm: Any
) -> None:
    headers = bearer(settings, "operator")
    before = len(pve.requests)
    answer = client.post(
        f"/api/v1/guests/{stopped_vm.vmid}/actions/snapshot", json={"snapname": "1bad name"}, headers=headers
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("snapname: use 2–40 characters")
    unknown = client.post(
        f"/api/v1/guests/{stopped_vm.vmid}/actions/start", json={"force": True}, headers=headers
    )
    assert unknown.status_code == 422 and "force" in unknown.json()["detail"]
    posts = [r for r in pve.requests[before:] if r[0] != "GET"]
    assert posts == []


def test_preflight_refuses_starting_a_running_guest(
    client: httpx.Client, settings: Settings, pve: DemoPve
) -> None:
    vm = next(v for v in pve.vms if v.status == "running" and not v.lock)
    answer = client.post(
        f"/api/v1/guests/{vm.vmid}/actions/start", json={}, headers=bearer(settings, "operator")
    )
    assert answer.status_code == 409
    assert answer.json()["detail"] == f"VM {vm.vmid} {vm.name} is already running."


def test_proxmox_refusal_is_shown_in_its_words_and_recorded_failed(
    client: httpx.Client, settings: Settings, pve: DemoPve, stopped_vm: Any
) -> None:
    headers = bearer(settings, "operator")
    pve.fail("POST", f"/qemu/{stopped_vm.vmid}/status/start", 500, "cluster not ready - no quorum?")
    answer = client.post(f"/api/v1/guests/{stopped_vm.vmid}/actions/start", json={}, headers=headers)
    assert answer.status_code == 502
    assert "cluster not ready - no quorum?" in answer.json()["detail"]
    events = client.get(
        "/api/v1/audit", params={"vmid": stopped_vm.vmid, "outcome": "failed"}, headers=headers
    )
    assert "cluster not ready - no quorum?" in events.json()["items"][0]["message"]


def test_task_error_is_audited_as_failed_never_succeeded(
    client: httpx.Client, settings: Settings, pve: DemoPve, stopped_vm: Any
) -> None:
    headers = bearer(settings, "operator")
    stopped_vm.start_error = "start failed: disk 'local-lvm:vm-404-disk-0' does not exist"
    try:
        upid = client.post(
            f"/api/v1/guests/{stopped_vm.vmid}/actions/start", json={}, headers=headers
        ).json()["upid"]
        end = wait_for_event(client, headers, upid)
    finally:
        stopped_vm.start_error = None
    assert end["outcome"] == "failed"
    assert "does not exist" in end["message"]


def test_operations_catalogue_lists_parameters(client: httpx.Client, settings: Settings) -> None:
    catalogue = client.get("/api/v1/operations", headers=bearer(settings, "viewer")).json()["items"]
    names = {op["name"]: op for op in catalogue}
    assert {"start", "shutdown", "stop", "reboot", "suspend", "resume", "snapshot", "backup"} <= set(names)
    assert names["snapshot"]["risk"] == "reversible"
    assert "vmstate" in names["snapshot"]["parameters"]["properties"]
    assert names["stop"]["confirm"].startswith("This cuts the power")


async def test_proxmox_vanishing_mid_action_is_recorded_as_unknown_then_reconciled(
    served_fake: ServedFake, pve: DemoPve, empty_database: str, tmp_path: Path, scratch: None
) -> None:
    """The POST goes out and no answer comes: never a false success; the task is then found in the node's
    task list, followed to its end, and nothing is sent twice."""
    from app.services.pipeline.task_watch import TaskWatcher

    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path, proxmox_timeout=1.0)
    engine = create_engine(settings.resolved_database_url)
    audit_binding.configure(engine, settings)
    sessions = session_factory(engine)
    vm = add_vm(pve, 9395)  # a guest no other test started: its only qmstart is this test's
    pve.stall("POST", f"/qemu/{vm.vmid}/status/start", 2.0)
    principal = Principal(1, "alice", Role.operator, "session")
    seen = len(pve.requests)
    try:
        async with PveClient(pve_connection(settings)) as client:
            actions = ActionService(client, sessions)
            plan = await actions.plan(principal, ACTOR, "start", vm.vmid, {})
            with pytest.raises(OutcomeUnknown, match="may or may not have been made"):
                await actions.perform(plan, ACTOR)
            async with sessions() as db:
                rows, _ = await list_events(db, AuditFilter(vmid=vm.vmid))
            assert [r.outcome for r in rows] == ["unknown", "intent"]
            assert "may or may not have been made" in (rows[0].message or "")
            await asyncio.sleep(2.5)  # the stalled start lands on the fake
            pve.stalls.clear()
            watcher = TaskWatcher(client, sessions)
            assert await watcher.reconcile_once() == 1
            for _ in range(100):
                if await watcher.poll_once():
                    break
                await asyncio.sleep(0.1)
        async with sessions() as db:
            rows, _ = await list_events(db, AuditFilter(vmid=vm.vmid))
        assert [(r.outcome, r.message) for r in rows][0] == ("succeeded", "OK")
        assert [r.outcome for r in rows] == ["succeeded", "started", "unknown", "intent"]
        assert rows[1].upid and ":qmstart:" in rows[1].upid and "task list" in (rows[1].message or "")
        sent = pve.requests[seen:]
        starts = [r for r in sent if r[0] == "POST" and r[1].endswith(f"/qemu/{vm.vmid}/status/start")]
        assert len(starts) == 1
    finally:
        await engine.dispose()
        vm.status, vm.qmpstatus = "stopped", "stopped"


def test_csrf_and_preflight_refusals_are_audited(
    client: httpx.Client, app_server: Any, settings: Settings, pve: DemoPve
) -> None:
    from tests.factories import signed_in

    vm = next(v for v in pve.vms if v.status == "running" and not v.lock and not v.template)
    name = make_user(settings, "operator")
    with signed_in(app_server.url, name) as http:
        del http.headers["X-CSRF-Token"]
        assert http.post(f"/guests/{vm.vmid}/actions/reboot", data={}).status_code == 403
    headers = bearer(settings, "operator")
    assert client.post(f"/api/v1/guests/{vm.vmid}/actions/start", json={}, headers=headers).status_code == 409
    denied = client.get(
        "/api/v1/audit", params={"vmid": vm.vmid, "outcome": "denied"}, headers=headers
    ).json()
    messages = [(e["actor_name"], e["operation"], e["message"]) for e in denied["items"]]
    assert (name, "reboot", "CSRF token missing or wrong") in messages
    assert any(
        op == "start" and msg == f"VM {vm.vmid} {vm.name} is already running." for _a, op, msg in messages
    )


async def test_watcher_finishes_tasks_left_by_an_earlier_process(
    served_fake: ServedFake, pve: DemoPve, empty_database: str, tmp_path: Path
) -> None:
    """A running execution written before a restart is picked up by the next process and ended exactly once."""
    from app.db.executions import Execution
    from app.services.pipeline.task_watch import TaskWatcher

    upid = served_fake.call(pve.backup(next(v.vmid for v in pve.vms if not v.lock), secs=0))
    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path)
    engine = create_engine(settings.resolved_database_url)
    audit_binding.configure(engine, settings)
    sessions = session_factory(engine)
    async with sessions() as db:
        db.add(
            Execution(
                upid=upid,
                node=upid.split(":")[1],
                operation="backup",
                risk="reversible",
                actor_name="alice",
                auth_method="session",
                state="running",
            )
        )
        await db.commit()
    try:
        async with PveClient(pve_connection(settings)) as client:
            first, second = TaskWatcher(client, sessions), TaskWatcher(client, sessions)
            assert await first.poll_once() == 1
            assert await second.poll_once() == 0
        async with sessions() as db:
            rows, _ = await list_events(db, AuditFilter(q=upid))
        assert [(r.outcome, r.message) for r in rows] == [("succeeded", "OK")]
    finally:
        await engine.dispose()


def test_unknown_guests_and_operations_are_refused_and_audited(
    client: httpx.Client, settings: Settings
) -> None:
    name = make_user(settings, "operator")
    headers = {"Authorization": f"Bearer {make_token(settings, name)}"}
    no_guest = client.post("/api/v1/guests/999999/actions/start", json={}, headers=headers)
    assert no_guest.status_code == 404 and no_guest.json()["detail"] == "There is no guest 999999."
    no_op = client.post("/api/v1/guests/100/actions/explode", json={}, headers=headers)
    assert no_op.status_code == 404 and no_op.json()["detail"] == "There is no operation 'explode'."
    not_cluster = client.post("/api/v1/actions/start", json={"reason": "agent guessing"}, headers=headers)
    assert not_cluster.status_code == 404
    assert not_cluster.json()["detail"].startswith("There is no cluster-wide operation 'start'")
    mine = client.get("/api/v1/audit", params={"actor": name}, headers=headers).json()["items"]
    assert {(e["operation"], e["vmid"], e["outcome"], e["message"]) for e in mine} == {
        ("start", 999999, "invalid", "There is no guest 999999."),
        ("explode", 100, "invalid", "There is no operation 'explode'."),
        ("start", None, "invalid", not_cluster.json()["detail"]),
    }


async def test_nothing_is_sent_when_the_intent_cannot_be_written(
    served_fake: ServedFake, pve: DemoPve, empty_database: str, tmp_path: Path, scratch: None
) -> None:
    """The audit log first, then Proxmox: with the audit table gone, the call is refused and never sent."""
    from sqlalchemy import text

    from app.services.audit import binding as audit_binding
    from app.services.errors import AuditUnavailable

    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path)
    engine = create_engine(settings.resolved_database_url)
    audit_binding.configure(engine, settings)
    sessions = session_factory(engine)
    vm = add_vm(pve, 9396)
    seen = len(pve.requests)
    try:
        async with PveClient(pve_connection(settings)) as client:
            actions = ActionService(client, sessions)
            plan = await actions.plan(
                Principal(1, "alice", Role.operator, "session"), ACTOR, "start", 9396, {}
            )
            async with engine.begin() as conn:
                await conn.execute(text("DROP TABLE audit_events"))
            with pytest.raises(AuditUnavailable, match="nothing was sent to Proxmox"):
                await actions.perform(plan, ACTOR)
        assert not [r for r in pve.requests[seen:] if r[0] == "POST"]
        assert vm.status == "stopped"
    finally:
        await engine.dispose()


def test_an_action_the_audit_log_refuses_answers_503_sends_nothing_and_frees_its_key(
    client: httpx.Client, app_server: Any, settings: Settings, pve: DemoPve, stopped_vm: Any
) -> None:
    from tests.audit_refusal import NOTHING_DONE, audit_refused
    from tests.factories import signed_in

    name = make_user(settings, "operator")
    headers = {"Authorization": f"Bearer {make_token(settings, name)}", "Idempotency-Key": unique_key()}
    start = f"/api/v1/guests/{stopped_vm.vmid}/actions/start"
    seen = len(pve.requests)
    with signed_in(app_server.url, name) as browser, audit_refused(settings):
        answer = client.post(start, json={}, headers=headers)
        pressed = browser.post(
            f"/guests/{stopped_vm.vmid}/actions/start",
            data={"idempotency_key": unique_key()},
            headers={"HX-Request": "true"},
        )
    assert (answer.status_code, answer.json()) == (503, {"detail": NOTHING_DONE})
    assert pressed.status_code == 503 and pressed.headers["HX-Retarget"] == "#toasts"
    assert NOTHING_DONE in html.unescape(pressed.text)
    assert [r for r in pve.requests[seen:] if r[0] == "POST"] == []
    assert pve.vm(stopped_vm.vmid).status == "stopped"
    again = client.post(start, json={}, headers=headers)  # the key was freed: the same one works now
    assert again.status_code == 200, again.text
    assert pve.vm(stopped_vm.vmid).status == "running"


def test_a_start_whose_record_is_refused_answers_503_naming_its_task_and_is_reconciled(
    client: httpx.Client, settings: Settings, pve: DemoPve, stopped_vm: Any
) -> None:
    """Only the 'started' event is refused: Proxmox did start the task. The answer says so and names it; the
    task is recorded once the log takes writes again, followed to its end, and never started twice."""
    from tests.audit_refusal import UNWRITABLE, audit_refused

    headers = {**bearer(settings, "operator"), "Idempotency-Key": unique_key()}
    start = f"/api/v1/guests/{stopped_vm.vmid}/actions/start"
    seen = len(pve.requests)
    with audit_refused(settings, outcome="started"):
        answer = client.post(start, json={}, headers=headers)
    assert answer.status_code == 503, answer.text
    upid = answer.json()["upid"]
    assert upid.startswith(f"UPID:{stopped_vm.node}:") and ":qmstart:" in upid
    assert answer.json()["detail"] == (
        f"{UNWRITABLE}: Proxmox started the task ({upid}), but Proxgate could not record it; "
        "it will be reconciled."
    )
    assert pve.vm(stopped_vm.vmid).status == "running"
    # At most one lease (30 s) more, should the watcher have tried before the refusal was lifted.
    end = wait_for_event(client, headers, upid, timeout=45)
    assert end["outcome"] == "succeeded"
    story = client.get("/api/v1/audit", params={"vmid": stopped_vm.vmid}, headers=headers).json()["items"]
    mine = [(e["outcome"], e["upid"]) for e in reversed(story) if e["request_id"] == end["request_id"]]
    assert mine == [("intent", None), ("started", upid), ("succeeded", upid)]
    started = next(e for e in story if e["outcome"] == "started" and e["upid"] == upid)
    assert "recorded late: the audit log could not be written then" in started["message"]
    replay = client.post(start, json={}, headers=headers)
    assert (replay.status_code, replay.json()["upid"]) == (200, upid)
    starts = [r for r in pve.requests[seen:] if r[0] == "POST" and r[1].endswith("/status/start")]
    assert len(starts) == 1


def unique_key() -> str:
    """A one-time key no other call used."""
    return uuid.uuid4().hex
