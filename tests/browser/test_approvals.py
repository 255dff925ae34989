"""In the browser, with two people: alice asks to delete a VM, bob approves it, the audit tells the story."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm
from tests.browser.test_sign_in import sign_in
from tests.factories import make_token, make_user
from tests.servers import AppServer

pytestmark = pytest.mark.browser


@pytest.fixture
def second(browser: Browser, app_server: AppServer) -> Iterator[Page]:
    """Another person's browser (its own cookies), on a phone-sized screen as approvers often are."""
    context = browser.new_context(base_url=app_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


def test_alice_requests_a_deletion_and_bob_approves_it(
    page: Page, second: Page, settings: Settings, app_server: AppServer, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9360)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")

    sign_in(page, alice)
    page.goto("/guests/9360")
    page.locator("#delete-form-box summary").click()
    page.locator("#delete-reason").fill("replaced by 9361")
    page.get_by_role("button", name="Request: Delete VM 9360").click()
    expect(page).to_have_url(re.compile(r"/approvals/\d+$"))
    request_url = page.url
    expect(page.locator("#request-status")).to_have_text("pending")
    expect(page.locator("#request-reason")).to_have_text("replaced by 9361")
    expect(page.locator("#waiting-note")).to_be_visible()
    expect(page.locator("#approve-button")).to_have_count(0)
    rid = request_url.rsplit("/", 1)[1]
    token = make_token(settings, alice)
    refused = httpx.post(
        f"{app_server.url}/api/v1/requests/{rid}/approve",
        json={"confirm": "9360"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 403

    sign_in(second, bob)
    expect(second.locator("#approval-count")).to_have_text(re.compile(r"^[1-9]\d*$"))
    second.get_by_role("link", name=re.compile("^Approvals")).click()
    second.locator(f'#pending-requests tr[data-request="{rid}"] a').first.click()
    expect(second.locator("#preview-losses")).to_contain_text(
        "Disk scsi0: local-lvm:vm-9360-disk-0 (8 GiB) is destroyed"
    )
    expect(second.locator("#no-changes")).to_be_visible()
    second.locator("#approve-confirm").fill("9360")
    second.locator("#approve-button").click()
    expect(second.locator("#request-status")).to_have_text("succeeded", timeout=20000)
    upid = second.locator("#request-task-link code").inner_text()
    assert ":qmdestroy:9360:" in upid
    assert pve.vm(9360) is None

    second.goto("/audit?vmid=9360")
    outcomes = second.locator("#audit-events tbody tr .outcome")
    for _ in range(20):
        if outcomes.first.inner_text() == "succeeded":
            break
        second.wait_for_timeout(250)
        second.reload()
    texts = [t.strip() for t in outcomes.all_inner_texts()]
    # The 'denied' is alice's attempt through the API to approve her own request.
    assert texts[:6] == ["succeeded", "started", "intent", "approved", "denied", "requested"], texts
    expect(second.locator(f'a.upid[href$="{upid}"]').first).to_be_visible()
    expect(second.locator(f'a.request-link[href$="/approvals/{rid}"]').first).to_be_visible()
