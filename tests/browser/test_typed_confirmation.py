"""In the browser: approving a rollback asks for the typed VMID, on one line at a desk and readable on a phone; a
wrong one is refused beside the field, and the right one runs it."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, snapshot
from tests.backup_guests import FakeApi
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user
from tests.servers import AppServer
from tests.web.test_request_pages import bearer

pytestmark = pytest.mark.browser

# The prompt's lines: its height over its VMID's (one line of code) and whether the VMID itself was broken.
LINES = """() => {
  const prompt = document.querySelector('#approve-confirm-prompt');
  const code = prompt.querySelector('code');
  return {ratio: prompt.getBoundingClientRect().height / code.getBoundingClientRect().height,
          codeRects: code.getClientRects().length, right: prompt.getBoundingClientRect().right,
          width: document.documentElement.clientWidth};
}"""


def prompt_lines(page: Page) -> dict[str, float]:
    """How the typed-VMID prompt is laid out."""
    found: dict[str, float] = page.evaluate(LINES)
    return found


def test_a_rollback_is_approved_only_with_its_vmid_typed_and_a_wrong_one_is_refused_beside_the_field(
    browser: Browser,
    app_server: AppServer,
    settings: Settings,
    pve: DemoPve,
    fake_api: FakeApi,
    scratch: None,
) -> None:
    vm = add_vm(pve, 9349, status="running")
    snapshot(fake_api, vm, "known-good")
    vm.config["memory"] = 4096
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    with httpx.Client(base_url=app_server.url, timeout=30) as api:
        asked = ask(
            api, bearer(settings, alice), 9349, "rollback", snapname="known-good", reason="bad upgrade"
        )
    rid = asked.json()["request_id"]

    phone = browser.new_context(base_url=app_server.url, viewport={"width": 390, "height": 844})
    phone.set_default_timeout(15000)
    small = phone.new_page()
    sign_in(small, bob)
    small.goto(f"/approvals/{rid}")
    expect(small.locator("#approve-confirm-prompt")).to_have_text("Type 9349 to confirm")
    laid = prompt_lines(small)
    assert laid["codeRects"] == 1 and laid["right"] <= laid["width"], laid
    phone.close()

    desk = browser.new_context(base_url=app_server.url, viewport={"width": 1400, "height": 900})
    desk.set_default_timeout(15000)
    page = desk.new_page()
    sign_in(page, bob)
    page.goto(f"/approvals/{rid}")
    laid = prompt_lines(page)
    assert laid["ratio"] < 1.6 and laid["codeRects"] == 1, laid

    page.locator("#approve-confirm").fill("934")
    page.locator("#approve-comment").fill("alice checked the snapshot")
    page.locator("#approve-button").click()
    expect(page.locator("#approve-confirm-error")).to_have_text("Type 9349 to confirm.")
    expect(page.locator("#approve-confirm")).to_be_focused()
    expect(page.locator("#approve-confirm")).to_have_value("934")
    expect(page.locator("#approve-comment")).to_have_value("alice checked the snapshot")
    expect(page.locator("#toasts .toast-error")).to_have_count(0)
    expect(page.locator("#request-status")).to_have_text("pending")
    # The block's own refresh keeps the problem and what was typed.
    page.evaluate("document.querySelector('#request-detail').dataset.old = '1'")
    page.evaluate("document.body.dispatchEvent(new Event('conflict'))")
    expect(page.locator("#request-detail:not([data-old])")).to_have_count(1, timeout=15000)
    expect(page.locator("#approve-confirm-error")).to_have_text("Type 9349 to confirm.")
    assert vm.config["memory"] == 4096

    page.locator("#approve-confirm").fill("9349")
    page.locator("#approve-button").click()
    expect(page.locator("#request-status")).to_have_text("succeeded", timeout=20000)
    assert vm.config["memory"] in (2048, "2048")
    desk.close()
