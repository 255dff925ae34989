"""Approving is a person's act: by default only a signed-in browser session approves or rejects; API tokens
decide only when made with the approver role and the app runs with PROXGATE_APPROVE_WITH_TOKENS=true."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.services.accounts import set_role
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, sent, settle
from tests.conftest import app_settings
from tests.factories import make_token, make_user, run_async, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer


@pytest.fixture(scope="module")
def default_app(served_fake: ServedFake, settings: Settings) -> Iterator[AppServer]:
    """A second app on the shared database with PROXGATE_APPROVE_WITH_TOKENS as shipped (false)."""
    server = AppServer(
        app_settings(served_fake, str(settings.database_url), settings.data_dir, approve_with_tokens=False)
    )
    yield server
    server.stop()


def events_of(
    client: httpx.Client, headers: dict[str, str], vmid: int, request_id: int
) -> list[dict[str, Any]]:
    """The audit events of one request on the guest, oldest first."""
    items = client.get("/api/v1/audit", params={"vmid": vmid}, headers=headers).json()["items"]
    return [e for e in reversed(items) if e["approval_id"] == request_id]


def test_by_default_a_token_cannot_decide_and_a_signed_in_approver_can(
    default_app: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    crew = people(settings)  # bob's token is made with the approver role: it still may not decide
    add_vm(pve, 9316)
    add_vm(pve, 9317)
    seen = len(pve.requests)
    with httpx.Client(base_url=default_app.url, timeout=30) as client:
        rid = ask(client, crew.alice, 9316, "delete", reason="retired").json()["request_id"]
        approve = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9316"}, headers=crew.bob)
        assert approve.status_code == 403
        assert approve.json()["detail"] == (
            "Approving with an API token is off (PROXGATE_APPROVE_WITH_TOKENS=false): "
            "decide in a signed-in browser session."
        )
        reject = client.post(f"/api/v1/requests/{rid}/reject", json={"comment": "no"}, headers=crew.bob)
        assert reject.status_code == 403 and "PROXGATE_APPROVE_WITH_TOKENS" in reject.json()["detail"]
        assert reject.json()["detail"].startswith("Rejecting with an API token is off")
        assert client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["status"] == "pending"
        assert pve.vm(9316) is not None and not sent(pve, seen, "DELETE", "/qemu/9316")
        refusals = [
            (e["outcome"], e["auth_method"], e["message"]) for e in events_of(client, crew.bob, 9316, rid)
        ]
        assert refusals == [
            ("requested", "token", "retired"),
            ("denied", "token", "approving with an API token is off"),
            ("denied", "token", "rejecting with an API token is off"),
        ]
        # The requester's own token may still take a request back.
        other = ask(client, crew.alice, 9317, "delete", reason="changed my mind").json()["request_id"]
        cancelled = client.post(f"/api/v1/requests/{other}/cancel", headers=crew.alice)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        # The same approver, signed in, approves it.
        with signed_in(default_app.url, crew.bob_name) as bob:
            assert bob.post(f"/approvals/{rid}/approve", data={"confirm": "9316"}).status_code == 303
        done = settle(client, crew.bob, rid)
        assert done["status"] == "succeeded", done
        assert [(a["by"], a["method"]) for a in done["approvals"]] == [(crew.bob_name, "session")]
    assert pve.vm(9316) is None and pve.vm(9317) is not None


def test_a_token_made_without_the_approver_role_cannot_decide_even_where_tokens_may(
    app_server: AppServer, client: httpx.Client, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    crew = people(settings)
    bob, admin = crew.bob_name, make_user(settings, "admin")
    plain = {"Authorization": f"Bearer {make_token(settings, bob)}"}  # proxgate token add NAME --user bob
    admins = {"Authorization": f"Bearer {make_token(settings, admin)}"}
    for headers in (plain, admins):
        assert client.get("/api/v1/me", headers=headers).json()["role"] == "operator"
    add_vm(pve, 9318)
    rid = ask(client, crew.alice, 9318, "delete", reason="retired").json()["request_id"]
    for headers in (plain, admins):
        approve = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9318"}, headers=headers)
        assert approve.status_code == 403 and "approver role" in approve.json()["detail"]
        reject = client.post(f"/api/v1/requests/{rid}/reject", json={"comment": "no"}, headers=headers)
        assert reject.status_code == 403 and "approver role" in reject.json()["detail"]
    assert client.get(f"/api/v1/requests/{rid}", headers=plain).json()["status"] == "pending"
    # A token made with the approver role keeps it only while its user does: demoted, it stops deciding at once.
    chosen = {"Authorization": f"Bearer {make_token(settings, bob, 'approver')}"}
    assert client.get("/api/v1/me", headers=chosen).json()["role"] == "approver"
    run_async(set_role(settings, bob, "operator"))
    assert client.get("/api/v1/me", headers=chosen).json()["role"] == "operator"
    late = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9318"}, headers=chosen)
    assert late.status_code == 403 and "approver role" in late.json()["detail"]
    # Another approver's token made with the approver role decides.
    approved = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9318"}, headers=crew.carol)
    assert approved.status_code == 200, approved.text
    assert settle(client, crew.carol, rid)["status"] == "succeeded"
    assert pve.vm(9318) is None
