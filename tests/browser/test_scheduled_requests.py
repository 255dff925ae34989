"""In the browser: a request approved to run in its maintenance window waits on its page, and its requester
cancels it there before the window opens; the window then runs nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.services.clock import Clock
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, sent
from tests.browser.test_sign_in import sign_in
from tests.conftest import app_settings
from tests.factories import make_token, make_user
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

pytestmark = pytest.mark.browser
TAG = f"bwin-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def windowed(served_fake: ServedFake, database_url: str, tmp_path: Path) -> Iterator[AppServer]:
    """An app whose resizes of the tag's guests run only on Saturdays from 02:00, its clock 90 minutes before."""
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'[[window]]\nname = "maintenance"\noperations = ["resize"]\ntags = ["{TAG}"]\n'
        'cron = "0 2 * * SAT"\nhours = 4\n'
    )
    server = AppServer(app_settings(served_fake, database_url, tmp_path, policy_file=policy))
    clock: Clock = server.app.state.runtime.approvals.policy.clock
    now = datetime.now(UTC)
    days = (5 - now.weekday()) % 7 or 7
    clock.offset = (now + timedelta(days=days)).replace(hour=0, minute=30, second=0, microsecond=0) - now
    yield server
    server.stop()


def tab(browser: Browser, server: AppServer) -> Page:
    """A fresh browser context (no cookies) on this app."""
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(15000)
    return context.new_page()


def test_the_requester_cancels_a_scheduled_request_from_its_page(
    browser: Browser, windowed: AppServer, pve: DemoPve, scratch: None
) -> None:
    settings = windowed.app.state.runtime.settings
    crew = people(settings)
    alice = make_user(settings, "operator")
    alice_token = {"Authorization": f"Bearer {make_token(settings, alice)}"}
    approver = make_user(settings, "approver")
    vm = add_vm(pve, 9390)
    vm.config["tags"] = TAG
    seen = len(pve.requests)
    with httpx.Client(base_url=windowed.url, timeout=30) as client:
        rid = ask(client, alice_token, 9390, "resize", disk="scsi0", size="16G", reason="grow").json()[
            "request_id"
        ]
        approved = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob).json()
        assert approved["status"] == "scheduled", approved

    other = tab(browser, windowed)
    mine = tab(browser, windowed)
    try:
        sign_in(other, approver)
        other.goto(f"/approvals/{rid}")
        expect(other.locator("#request-status")).to_have_text("scheduled")
        expect(other.locator("#cancel-button")).to_have_count(0)  # neither the requester nor an admin

        sign_in(mine, alice)
        mine.goto(f"/approvals/{rid}")
        expect(mine.locator("#request-status")).to_have_text("scheduled")
        call_off = mine.locator("#request-call-off")
        expect(call_off).to_contain_text("Approved; it runs at")
        expect(call_off).to_contain_text("you or an admin can cancel it, and nothing is sent")
        mine.once("dialog", lambda dialog: dialog.accept())
        mine.locator("#cancel-button").click()
        expect(mine.locator("#request-status")).to_have_text("cancelled")
        expect(mine.locator("#request-decision")).to_contain_text(f"{alice}, ")
        expect(mine.locator("#request-decision")).to_contain_text(
            "called off before its maintenance window 'maintenance'"
        )
        expect(mine.locator("#request-call-off")).to_have_count(0)
        expect(mine).to_have_url(f"{windowed.url}/approvals/{rid}")
    finally:
        other.context.close()
        mine.context.close()

    windowed.app.state.runtime.approvals.policy.clock.move(timedelta(hours=2))
    time.sleep(4.5)  # two rounds of the window runner
    with httpx.Client(base_url=windowed.url, timeout=30) as client:
        assert client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["status"] == "cancelled"
    assert not sent(pve, seen, "PUT", "/qemu/9390/resize")
