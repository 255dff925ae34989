"""A request is sealed: the digest of exactly what was asked is in its audit event, each approval records the
digest it was shown, and a request row changed in the database afterwards is refused before it runs and named
by `audit verify`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, select_rows, sent, settle, sql
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake
from tests.processes import audit_verify
from tests.servers import AppServer


@pytest.fixture
def two_approvers(served_fake: ServedFake, empty_database: str, tmp_path: Path) -> Iterator[AppServer]:
    """An app on a database of its own where every request needs two approvals."""
    server = AppServer(app_settings(served_fake, empty_database, tmp_path, approvals_required=2))
    yield server
    server.stop()


def settings_of(server: AppServer) -> Settings:
    """The app's settings."""
    settings: Settings = server.app.state.runtime.settings
    return settings


def test_a_request_changed_between_two_approvals_is_refused_and_named_by_verify(
    two_approvers: AppServer, pve: DemoPve, scratch: None
) -> None:
    settings = settings_of(two_approvers)
    crew = people(settings)
    vm = add_vm(pve, 9389, size=32)
    seen = len(pve.requests)
    with httpx.Client(base_url=two_approvers.url, timeout=30) as client:
        rid = ask(client, crew.alice, 9389, "resize", disk="scsi0", size="+1G", reason="logs").json()[
            "request_id"
        ]
        shown = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
        first = client.post(f"/api/v1/requests/{rid}/approve", json={"seal": shown["seal"]}, headers=crew.bob)
        assert first.status_code == 200 and first.json()["approvals"][0]["seal"] == shown["seal"]
        # Someone with write access to the database grows the change between the two approvals.
        changed = json.dumps({"disk": "scsi0", "size": "+900G"})
        sql(settings, "UPDATE approval_requests SET params = :params WHERE id = :id", params=changed, id=rid)
        client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.carol)
        ended = settle(client, crew.bob, rid)
    assert ended["status"] == "failed"
    assert "no longer match the seal of its request" in ended["result"]["message"]
    assert not sent(pve, seen, "PUT", "/qemu/9389/resize") and "size=32G" in vm.config["scsi0"]
    events = select_rows(
        settings, "SELECT outcome, message FROM audit_events WHERE approval_id = :id", id=rid
    )
    assert any(outcome == "failed" and "seal" in (message or "") for outcome, message in events)
    verified = audit_verify(settings)
    assert verified.returncode == 1, verified.stdout
    assert f"request #{rid} (resize of" in verified.stdout and "changed in the database" in verified.stdout


def test_an_approval_of_a_request_that_changed_since_it_was_read_is_refused(
    client: httpx.Client, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    crew = people(settings)
    add_vm(pve, 9388, size=8)
    rid = ask(client, crew.alice, 9388, "resize", disk="scsi0", size="+1G", reason="logs").json()[
        "request_id"
    ]
    read = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    stale = "0" * 64
    assert read["seal"] != stale
    refused = client.post(f"/api/v1/requests/{rid}/approve", json={"seal": stale}, headers=crew.bob)
    assert refused.status_code == 409 and refused.json()["field"] == "seal"
    assert "changed since you opened it" in refused.json()["detail"]
    after = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    assert after["status"] == "pending" and after["approvals"] == []
    client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice)


def test_the_requested_event_carries_the_seal_the_request_page_shows(
    client: httpx.Client, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    crew = people(settings)
    add_vm(pve, 9387, size=8)
    rid = ask(client, crew.alice, 9387, "resize", disk="scsi0", size="+2G", reason="logs").json()[
        "request_id"
    ]
    seal = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["seal"]
    rows = select_rows(
        settings, "SELECT params FROM audit_events WHERE approval_id = :id AND outcome = 'requested'", id=rid
    )
    assert [json.loads(params)["seal"] for (params,) in rows] == [seal]
    client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice)
