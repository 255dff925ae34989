"""Tasks run in Proxmox beside Proxgate: recorded once in the audit chain however many processes watch, caught
up after a restart, a deletion notified and shown to approvers until one acknowledges it; and the report of
who can still make such changes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.migrate import upgrade_database
from tests.approval_guests import People, people, select_rows
from tests.conftest import app_settings
from tests.factories import csrf_from, login
from tests.fakepve_thread import ServedFake
from tests.processes import AppProcess, audit_verify
from tests.services.test_notifications import Receiver
from tests.side_door_people import CI_TOKEN, Direct, side_door_cluster

SECRET = "webhook-secret-of-the-side-door-test"
# The done-when: a task run beside Proxgate is in /audit within this many seconds.
WITHIN = 15.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFake]:
    """A small cluster with the demo's people (its own: the observer reads every task it runs)."""
    yield from side_door_cluster(tmp_path_factory.mktemp("side-doors"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook on loopback."""
    server = Receiver()
    yield server
    server.close()


def observed(
    base: str, head: dict[str, str], upids: set[str], timeout: float = WITHIN
) -> list[dict[str, Any]]:
    """The observed events of these tasks, once each has one that says how it ended (AssertionError if late)."""
    deadline = time.monotonic() + timeout
    while True:
        items = httpx.get(
            f"{base}/api/v1/audit", params={"source": "proxmox", "limit": 200}, headers=head, timeout=10
        ).json()["items"]
        mine = [e for e in items if e["upid"] in upids]
        if {e["upid"] for e in mine if e["outcome"] != "started"} == upids:
            return mine
        assert time.monotonic() < deadline, f"not all observed in {timeout} s: {mine}"
        time.sleep(0.2)


def test_tasks_beside_proxgate_are_recorded_once_notified_and_caught_up_after_a_restart(
    cluster: ServedFake, postgres_database: str, tmp_path: Path, receiver: Receiver
) -> None:
    pve = cluster.pve
    for vmid in range(9501, 9509):
        pve.add_vm(vmid, f"side{vmid}", node="pve1", status="stopped", config={"memory": 512})
    upgrade_database(postgres_database)
    settings = app_settings(
        cluster,
        postgres_database,
        tmp_path,
        observe_interval_seconds=0.5,
        notify_webhook_url=f"http://127.0.0.1:{receiver.port}/hook",
        notify_webhook_secret=SECRET,
        notify_interval_seconds=0.2,
    )
    crew = people(settings)
    log = tmp_path / "apps.log"
    with ThreadPoolExecutor(max_workers=2) as starting:  # each takes seconds to start: side by side
        apps = list(starting.map(lambda _: AppProcess(settings, log), range(2)))
    direct = Direct(cluster)
    try:
        deadline = time.monotonic() + 20
        while select_rows(settings, "SELECT count(*) FROM observer_cursors")[0][0] < len(pve.nodes):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        began = time.monotonic()
        start = direct.call("POST", "/nodes/pve1/qemu/9501/status/start")
        snapshot = direct.call("POST", "/nodes/pve1/qemu/9502/snapshot", snapname="before")
        rollback = direct.call("POST", "/nodes/pve1/qemu/9502/snapshot/before/rollback")
        delete = direct.call("DELETE", "/nodes/pve1/qemu/9503")
        # Its configuration file removed on a node: gone from the cluster, and no task says so.
        pve.vms = [vm for vm in pve.vms if vm.vmid != 9507]
        own = httpx.post(
            f"{apps[0].url}/api/v1/guests/9504/actions/start", json={}, headers=crew.alice, timeout=30
        )
        assert own.status_code == 200, own.text
        events = observed(apps[1].url, crew.bob, {start, snapshot, rollback, delete})
        assert time.monotonic() - began < WITHIN
        by_upid = {e["upid"]: e for e in events}
        assert len(events) == 4, events  # one each, though two processes watch
        assert {by_upid[u]["operation"] for u in (start, snapshot, rollback, delete)} == {
            "start", "snapshot", "rollback", "delete",
        }  # fmt: skip
        gone = by_upid[delete]
        assert (gone["actor_name"], gone["token_name"], gone["auth_method"]) == (
            CI_TOKEN,
            "deploy",
            "proxmox",
        )
        assert (gone["vmid"], gone["node"], gone["risk"], gone["outcome"]) == (
            9503,
            "pve1",
            "destructive",
            "succeeded",
        )
        assert "not through Proxgate" in gone["message"]
        own_upid = own.json()["upid"]
        mine = httpx.get(f"{apps[0].url}/api/v1/audit", params={"q": own_upid}, headers=crew.bob).json()[
            "items"
        ]
        assert mine and all(e["auth_method"] == "token" for e in mine), mine

        # The destructive ones (the rollback, the deletion, the removal without a task) are told, once each.
        sent = {json.loads(body)["title"] for _, body in receiver.wait("/hook", 3)}
        assert sent == {
            "VM 9502 (side9502) was rolled back to a snapshot in Proxmox by ci@pve!deploy, without an approval",
            "VM 9503 (side9503) was deleted in Proxmox by ci@pve!deploy, without an approval",
            "VM 9507 (side9507) was removed in Proxmox without a task, and without an approval",
        }
        removed = httpx.get(f"{apps[0].url}/api/v1/audit", params={"vmid": 9507}, headers=crew.bob).json()[
            "items"
        ]
        assert [(e["operation"], e["actor_name"], e["auth_method"]) for e in removed] == [
            ("delete", "unknown (in Proxmox)", "proxmox")
        ]

        for app in apps:
            app.stop()
        # While no Proxgate runs: a deletion and a start, to be caught up on.
        late_delete = direct.call("DELETE", "/nodes/pve1/qemu/9505")
        late_start = direct.call("POST", "/nodes/pve1/qemu/9506/status/start")
        pve.vms = [vm for vm in pve.vms if vm.vmid != 9508]  # and a guest removed without a task
        apps = [AppProcess(settings, log)]
        observed(apps[0].url, crew.bob, {late_delete, late_start})
        # The removal is noticed in the same round, after the tasks: its notification says it is recorded.
        titles = {json.loads(body)["title"] for _, body in receiver.wait("/hook", 5)}
        assert len(titles) == 5
        assert "VM 9508 (side9508) was removed in Proxmox without a task, and without an approval" in titles
        counts = select_rows(
            settings, "SELECT upid, count(*) FROM audit_events WHERE auth_method = 'proxmox' GROUP BY upid"
        )
        assert len(counts) == 7 and {n for _, n in counts} == {1, 2}, counts
        assert dict(counts)[None] == 2  # the two removals without a task (9507, and 9508 while none ran)
        outbox = select_rows(settings, "SELECT count(*) FROM notification_outbox WHERE event = 'observed'")
        assert outbox == [(5,)]

        look_and_acknowledge(apps[0].url, settings, crew.bob_name, crew.bob, delete)
        acknowledge_over_the_api(apps[0].url, crew, late_delete)
    finally:
        direct.close()
        for app in apps:
            app.stop()
    verified = audit_verify(settings)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def look_and_acknowledge(base: str, settings: Any, approver: str, head: dict[str, str], upid: str) -> None:
    """/audit, its export and the guest's history show the observed events apart; the banner lists the deletion
    until an approver acknowledges it, and the acknowledgement is audited."""
    with httpx.Client(base_url=base, timeout=10) as browser:
        assert login(browser, approver).status_code == 303
        csrf = csrf_from(browser.get("/account").text)
        audit = browser.get("/audit", params={"source": "proxmox"})
        assert audit.status_code == 200 and upid in audit.text and 'class="pill observed-pill"' in audit.text
        own = browser.get("/audit", params={"source": "proxgate"}).text
        assert upid not in own and "observed-pill" not in own
        export = browser.get("/audit/export.csv", params={"source": "proxmox"}).text
        assert upid in export and "ci@pve!deploy" in export
        history = browser.get("/guests/9502").text.split('id="guest-history"', 1)[1]
        assert "observed-pill" in history and "rollback" in history and "snapshot" in history
        banner = browser.get("/side-doors/alerts")
        assert "VM 9503 (side9503) was deleted in Proxmox by ci@pve!deploy" in banner.text
        assert "VM 9505" in banner.text  # the one caught up on
        ((alert_id,),) = select_rows(settings, "SELECT id FROM side_door_alerts WHERE upid = :u", u=upid)
        url = f"/side-doors/alerts/{alert_id}/acknowledge"
        empty = browser.post(url, data={"comment": " ", "csrf_token": csrf})
        assert empty.status_code == 422 and "Say what was done" in empty.text
        done = browser.post(url, data={"comment": "ops cleaned up a test VM", "csrf_token": csrf})
        assert done.status_code == 200 and "VM 9503" not in done.text and "VM 9505" in done.text
        again = browser.post(url, data={"comment": "twice", "csrf_token": csrf})
        assert again.status_code == 409 and "acknowledged already" in again.text
    events = httpx.get(
        f"{base}/api/v1/audit", params={"operation": "acknowledge"}, headers=head, timeout=10
    ).json()["items"]
    assert len(events) == 1 and "ops cleaned up a test VM" in events[0]["message"]
    assert events[0]["upid"] == upid and events[0]["vmid"] == 9503


def acknowledge_over_the_api(base: str, crew: People, upid: str) -> None:
    """Agents see the open alerts and acknowledge one with a comment, audited as the page's acknowledgement is;
    viewers and operators are refused."""
    with httpx.Client(base_url=f"{base}/api/v1/side-doors", timeout=10) as api:
        for head in (crew.viewer, crew.alice):
            assert api.get("/alerts", headers=head).status_code == 403
        listed = api.get("/alerts", headers=crew.bob).json()
        assert listed["total"] == 4 and all(a["acknowledged_at"] is None for a in listed["items"])
        (alert,) = [a for a in listed["items"] if a["key"] == upid]
        assert "VM 9505" in alert["message"] and alert["vmid"] == 9505
        url = f"/alerts/{alert['id']}/acknowledge"
        assert api.post(url, json={"comment": "x"}, headers=crew.alice).status_code == 403
        empty = api.post(url, json={"comment": "  "}, headers=crew.bob)
        assert empty.status_code == 422 and empty.json()["field"] == "comment"
        done = api.post(url, json={"comment": "restored from backup"}, headers=crew.bob)
        assert done.status_code == 200, done.text
        assert (done.json()["comment"], done.json()["acknowledged_by"]) == (
            "restored from backup",
            crew.bob_name,
        )
        assert api.post(url, json={"comment": "again"}, headers=crew.bob).status_code == 409
        assert api.get("/alerts", headers=crew.bob).json()["total"] == 3
        acknowledged = api.get(
            "/alerts", params={"state": "acknowledged", "limit": 1}, headers=crew.bob
        ).json()
        assert acknowledged["total"] == 2 and acknowledged["items"][0]["key"] == upid
        assert acknowledged["next_cursor"]
    events = httpx.get(
        f"{base}/api/v1/audit",
        params={"operation": "acknowledge", "vmid": 9505},
        headers=crew.bob,
        timeout=10,
    ).json()["items"]
    assert len(events) == 1 and "restored from backup" in events[0]["message"]
    assert events[0]["auth_method"] == "token" and events[0]["upid"] == upid
