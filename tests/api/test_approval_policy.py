"""The policy is a setting: more operations under approval, several approvers, a solo mode; one-time keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import ConfigError
from app.main import create_app
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, sent, settle
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer


@pytest.fixture
def strict_app(served_fake: ServedFake, database_url: str, tmp_path: Path) -> Iterator[AppServer]:
    """An app where stop also needs approval, by two approvers."""
    settings = app_settings(
        served_fake, database_url, tmp_path, approval_operations="stop", approvals_required=2
    )
    server = AppServer(settings)
    yield server
    server.stop()


@pytest.fixture
def solo_app(served_fake: ServedFake, database_url: str, tmp_path: Path) -> Iterator[AppServer]:
    """A team of one: requesters confirm their own requests after a cooling-off time (none here)."""
    settings = app_settings(served_fake, database_url, tmp_path, approval_mode="solo", solo_cooling_minutes=0)
    server = AppServer(settings)
    yield server
    server.stop()


def test_an_unknown_operation_in_the_policy_stops_start_up(
    served_fake: ServedFake, database_url: str, tmp_path: Path
) -> None:
    settings = app_settings(served_fake, database_url, tmp_path, approval_operations="stop,explode")
    with pytest.raises(ConfigError, match="PROXGATE_APPROVAL_OPERATIONS: unknown operation explode"):
        create_app(settings)


def test_the_catalogue_says_what_needs_approval(api: httpx.Client) -> None:
    ops = {op["name"]: op for op in api.get("/api/v1/operations").json()["items"]}
    destructive = {n for n, op in ops.items() if op["risk"] == "destructive"}
    assert destructive == {
        "delete",
        "rollback",
        "delete-snapshot",
        "resize",
        "template",
        "restore-overwrite",
        "delete-backup",
    }
    assert all(ops[n]["needs_approval"] for n in destructive)
    assert not ops["stop"]["needs_approval"] and ops["delete"]["typed_confirmation"]


def test_stop_can_be_put_under_approval_and_two_approvers_can_be_required(
    strict_app: AppServer, pve: DemoPve, scratch: None
) -> None:
    crew = people(strict_app.app.state.runtime.settings)
    add_vm(pve, 9340, status="running")
    seen = len(pve.requests)
    with httpx.Client(base_url=strict_app.url, timeout=30) as client:
        asked = ask(client, crew.alice, 9340, "stop", reason="hung")
        assert asked.status_code == 202, asked.text
        rid = asked.json()["request_id"]
        first = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob).json()
        assert first["status"] == "pending" and len(first["approvals"]) == 1
        again = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob)
        assert again.status_code == 409 and "already approved" in again.json()["detail"]
        assert not sent(pve, seen, "POST", "/qemu/9340/status/stop")
        client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.carol)
        assert settle(client, crew.bob, rid)["status"] == "succeeded"
    assert pve.vm(9340).status == "stopped"


def test_solo_mode_lets_the_requester_confirm_by_typing_the_target(
    solo_app: AppServer, pve: DemoPve, scratch: None
) -> None:
    crew = people(solo_app.app.state.runtime.settings)
    add_vm(pve, 9341)
    add_vm(pve, 9319)
    with httpx.Client(base_url=solo_app.url, timeout=30) as client:
        rid = ask(client, crew.bob, 9341, "delete", reason="alone").json()["request_id"]
        untyped = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob)
        assert untyped.status_code == 422 and untyped.json()["field"] == "confirm"
        typed = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9341"}, headers=crew.bob)
        assert typed.status_code == 200, typed.text
        assert settle(client, crew.bob, rid)["status"] == "succeeded"
        page = client.get("/login")
        assert "two-person rule is off" in page.text
        # Confirming is approving: a token without the approver role (an agent's) cannot confirm its own.
        mine = ask(client, crew.alice, 9319, "delete", reason="alone").json()["request_id"]
        own = client.post(f"/api/v1/requests/{mine}/approve", json={"confirm": "9319"}, headers=crew.alice)
        assert own.status_code == 403 and "approver role" in own.json()["detail"]
        assert client.post(f"/api/v1/requests/{mine}/cancel", headers=crew.alice).status_code == 200
    assert pve.vm(9341) is None and pve.vm(9319) is not None


def test_solo_mode_waits_for_the_cooling_off_time(
    served_fake: ServedFake, database_url: str, tmp_path: Path, pve: DemoPve, scratch: None
) -> None:
    settings = app_settings(served_fake, database_url, tmp_path, approval_mode="solo")
    server = AppServer(settings)
    try:
        crew = people(settings)
        add_vm(pve, 9342)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            rid = ask(client, crew.bob, 9342, "delete", reason="alone").json()["request_id"]
            early = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9342"}, headers=crew.bob)
            assert early.status_code == 403 and "after" in early.json()["detail"]
    finally:
        server.stop()
    assert pve.vm(9342) is not None


def test_a_repeated_key_creates_one_request_and_one_guest(
    client: httpx.Client, settings: object, pve: DemoPve, scratch: None
) -> None:
    crew = people(settings)  # type: ignore[arg-type]
    add_vm(pve, 9343)
    key = {"Idempotency-Key": "form-9343-once"}
    first = client.post(
        "/api/v1/guests/9343/actions/delete", json={"reason": "x"}, headers={**crew.alice, **key}
    )
    second = client.post(
        "/api/v1/guests/9343/actions/delete", json={"reason": "x"}, headers={**crew.alice, **key}
    )
    assert first.status_code == second.status_code == 202
    assert first.json()["request_id"] == second.json()["request_id"]
    other = client.post(
        "/api/v1/guests/9343/actions/delete", json={"reason": "y"}, headers={**crew.alice, **key}
    )
    assert other.status_code == 409 and "other values" in other.json()["detail"]

    seen = len(pve.requests)
    clone = {"newid": 9344, "name": "copy9344"}
    made = [
        client.post(
            "/api/v1/guests/9343/actions/clone", json=clone, headers={**crew.alice, "Idempotency-Key": "c1"}
        )
        for _ in range(2)
    ]
    assert [m.status_code for m in made] == [200, 200] and made[0].json() == made[1].json()
    assert len(sent(pve, seen, "POST", "/qemu/9343/clone")) == 1
    assert pve.vm(9344) is not None


def test_a_failed_submission_frees_its_key(
    client: httpx.Client, settings: object, pve: DemoPve, scratch: None
) -> None:
    crew = people(settings)  # type: ignore[arg-type]
    add_vm(pve, 9345)
    key = {"Idempotency-Key": "form-9345"}
    bad = client.post("/api/v1/guests/9345/actions/delete", json={}, headers={**crew.alice, **key})
    assert bad.status_code == 422
    good = client.post(
        "/api/v1/guests/9345/actions/delete", json={"reason": "ok"}, headers={**crew.alice, **key}
    )
    assert good.status_code == 202
