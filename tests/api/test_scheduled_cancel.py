"""A request approved outside its maintenance window waits as `scheduled`: its requester or an admin can still
cancel it (audited, and the window then runs nothing); once the window started it, nobody can."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.services.clock import Clock
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, select_rows, sent
from tests.conftest import app_settings
from tests.factories import make_token, make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

# A tag of this module's own, so no other test's guests fall into the window.
TAG = f"win-{uuid.uuid4().hex[:8]}"
# The window runner looks every two seconds: two of its rounds.
TWO_ROUNDS = 4.5


@pytest.fixture(scope="module")
def windowed_app(
    served_fake: ServedFake, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    """An app whose policy lets resizes of the tag's guests run only on Saturdays from 02:00 to 06:00."""
    folder = tmp_path_factory.mktemp("windowed")
    policy = folder / "policy.toml"
    policy.write_text(
        f'[[window]]\nname = "maintenance"\noperations = ["resize"]\ntags = ["{TAG}"]\n'
        'cron = "0 2 * * SAT"\nhours = 4\n'
    )
    server = AppServer(app_settings(served_fake, database_url, folder, policy_file=policy))
    yield server
    server.stop()


@pytest.fixture
def clock(windowed_app: AppServer) -> Iterator[Clock]:
    """The app's clock, set to 00:30 on the next Saturday (90 minutes before the window), put back after."""
    moved: Clock = windowed_app.app.state.runtime.approvals.policy.clock
    now = datetime.now(UTC)
    saturday = (now + timedelta(days=(5 - now.weekday()) % 7 or 7)).replace(
        hour=0, minute=30, second=0, microsecond=0
    )
    moved.offset = saturday - now
    yield moved
    moved.offset = timedelta(0)


def scheduled(
    client: httpx.Client, pve: DemoPve, vmid: int, asker: dict[str, str], approver: dict[str, str]
) -> int:
    """A resize of a new guest in the window's tag, asked and approved before its window: its request's id."""
    vm = add_vm(pve, vmid)
    vm.config["tags"] = TAG
    rid = int(
        ask(client, asker, vmid, "resize", disk="scsi0", size="16G", reason="grow").json()["request_id"]
    )
    approved = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=approver).json()
    assert approved["status"] == "scheduled", approved
    return rid


def outcomes(windowed_app: AppServer, rid: int) -> list[tuple[Any, ...]]:
    """The request's audit events: outcome and message, oldest first."""
    return select_rows(
        windowed_app.app.state.runtime.settings,
        "SELECT outcome, message FROM audit_events WHERE approval_id = :rid ORDER BY seq",
        rid=rid,
    )


def test_the_requester_cancels_a_scheduled_request_and_its_window_runs_nothing(
    windowed_app: AppServer, pve: DemoPve, scratch: None, clock: Clock
) -> None:
    crew = people(windowed_app.app.state.runtime.settings)
    seen = len(pve.requests)
    with httpx.Client(base_url=windowed_app.url, timeout=30) as client:
        rid = scheduled(client, pve, 9380, crew.alice, crew.bob)
        other = client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.carol)
        assert other.status_code == 403
        assert other.json()["detail"] == (
            "Only the person who asked for this change can cancel it "
            "(an admin too, once it is approved and waits for its maintenance window)."
        )
        cancelled = client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["decided"]["by"] == crew.alice_name
        assert (
            cancelled.json()["decided"]["comment"] == "called off before its maintenance window 'maintenance'"
        )
        clock.move(timedelta(hours=2))  # the window is open now
        time.sleep(TWO_ROUNDS)
        assert client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["status"] == "cancelled"
        again = client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice)
        assert again.status_code == 409
        assert again.json()["detail"].endswith("only a pending or scheduled request can be cancelled.")
    assert not sent(pve, seen, "PUT", "/qemu/9380/resize")
    assert pve.vm(9380).config["scsi0"].endswith("size=8G")
    assert [o for o, _m in outcomes(windowed_app, rid)] == ["requested", "approved", "denied", "cancelled"]


def test_an_admin_cancels_a_scheduled_request_and_its_requester_is_told(
    windowed_app: AppServer, pve: DemoPve, scratch: None, clock: Clock
) -> None:
    settings = windowed_app.app.state.runtime.settings
    crew = people(settings)
    asker = make_user(settings, "operator")
    asker_token = {"Authorization": f"Bearer {make_token(settings, asker)}"}
    admin = make_user(settings, "admin")
    admin_token = {"Authorization": f"Bearer {make_token(settings, admin, 'admin')}"}
    with httpx.Client(base_url=windowed_app.url, timeout=30) as client:
        vm = add_vm(pve, 9381)
        vm.config["tags"] = TAG
        pending = ask(client, asker_token, 9381, "resize", disk="scsi0", size="16G", reason="grow")
        rid = pending.json()["request_id"]
        early = client.post(f"/api/v1/requests/{rid}/cancel", headers=admin_token)
        assert early.status_code == 403  # a pending request is its requester's to take back, or to reject
        assert client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob).json()["status"] == (
            "scheduled"
        )
        cancelled = client.post(f"/api/v1/requests/{rid}/cancel", headers=admin_token)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled" and cancelled.json()["decided"]["by"] == admin
    with signed_in(windowed_app.url, asker) as browser:
        news = browser.get("/approvals/notices").text
    assert f'<strong class="status-cancelled">cancelled</strong> by {admin}' in news
    assert f"/approvals/{rid}" in news
    assert outcomes(windowed_app, rid)[-1] == (
        "cancelled",
        "called off before its maintenance window 'maintenance'",
    )


def test_a_request_its_window_started_can_no_longer_be_cancelled(
    windowed_app: AppServer, pve: DemoPve, scratch: None, clock: Clock
) -> None:
    crew = people(windowed_app.app.state.runtime.settings)
    seen = len(pve.requests)
    with httpx.Client(base_url=windowed_app.url, timeout=30) as client:
        rid = scheduled(client, pve, 9382, crew.alice, crew.bob)
        clock.move(timedelta(hours=2))
        deadline = time.monotonic() + 20
        while (body := client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json())["status"] in (
            "scheduled",
            "executing",
        ):
            assert time.monotonic() < deadline, body
            time.sleep(0.2)
        assert body["status"] == "succeeded", body
        late = client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice)
        assert late.status_code == 409
        assert late.json()["detail"] == (
            f"Request #{rid} was approved by {crew.bob_name} and has run; "
            "only a pending or scheduled request can be cancelled."
        )
    assert sent(pve, seen, "PUT", "/qemu/9382/resize")
