"""A request's own page in the browser: asking lands there (address, header and navigation), deciding updates it
in place, an approver who lost the race sees how it stands, and a rejected request is asked for again."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask
from tests.browser.test_sign_in import sign_in
from tests.factories import make_token, make_user
from tests.servers import AppServer

pytestmark = pytest.mark.browser
# Marks the header a page was loaded with: a block swapped in place leaves it, a navigation replaces it.
MARK_HEADER = "document.querySelector('header.topbar').dataset.mark = 'loaded'"


@pytest.fixture
def second(browser: Browser, app_server: AppServer) -> Iterator[Page]:
    """Another person's browser, with its own cookies."""
    context = browser.new_context(base_url=app_server.url)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


def bearer(settings: Settings, username: str, role: str | None = None) -> dict[str, str]:
    """An API token's header for this user."""
    return {"Authorization": f"Bearer {make_token(settings, username, role)}"}


def expect_whole_request_page(page: Page, request_id: str) -> None:
    """The request's page with the header, the navigation (Approvals current) and its title."""
    expect(page).to_have_url(re.compile(rf"/approvals/{request_id}$"))
    expect(page.locator("header.topbar")).to_be_visible()
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.locator('a[aria-current="page"]')).to_have_text(re.compile("^Approvals"))
    expect(page.locator("h1")).to_have_text(re.compile(rf"^Request #{request_id}: "))
    expect(page).to_have_title(f"Request #{request_id} · Proxgate")
    expect(page.locator("#request-detail")).to_have_count(1)


def test_asking_lands_on_the_request_page_and_deciding_updates_it_in_place(
    page: Page, second: Page, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9352)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    sign_in(page, alice)
    page.goto("/guests/9352")
    page.locator("#delete-form-box summary").click()
    page.locator("#delete-reason").fill("replaced by 9353")
    page.get_by_role("button", name="Request: Delete VM 9352").click()
    expect(page).to_have_url(re.compile(r"/approvals/\d+$"))
    rid = page.url.rsplit("/", 1)[1]
    expect_whole_request_page(page, rid)
    expect(page.locator("#request-status")).to_have_text("pending")
    page.reload()
    expect_whole_request_page(page, rid)
    expect(page.locator("#request-reason")).to_have_text("replaced by 9353")

    sign_in(second, bob)
    second.goto(f"/approvals/{rid}")
    second.evaluate(MARK_HEADER)
    second.locator("#approve-confirm").fill("9352")
    second.locator("#approve-button").click()
    expect(second.locator("#request-status")).to_have_text("succeeded", timeout=20000)
    expect(second.locator("#request-decision")).to_contain_text(bob)
    expect(second.locator("#request-task-link")).to_be_visible()
    expect(second.locator("header.topbar[data-mark=loaded]")).to_have_count(1)
    expect_whole_request_page(second, rid)
    assert pve.vm(9352) is None


def test_an_approver_who_lost_the_race_sees_how_the_request_stands(
    page: Page, settings: Settings, app_server: AppServer, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9354)
    alice, bob, carol = (make_user(settings, r) for r in ("operator", "approver", "approver"))
    carol_api = bearer(settings, carol, "approver")
    with httpx.Client(base_url=app_server.url, timeout=30) as api:
        rid = ask(api, bearer(settings, alice), 9354, "delete", reason="race").json()["request_id"]
        sign_in(page, bob)
        page.goto(f"/approvals/{rid}")
        expect(page.locator("#request-status")).to_have_text("pending")
        page.locator("#approve-confirm").fill("9354")
        first = api.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9354"}, headers=carol_api)
        assert first.status_code == 200, first.text
    page.locator("#approve-button").click()
    expect(page.locator("#toasts .toast-error")).to_contain_text(f"Request #{rid} was approved by {carol}")
    # Well before the block's own 10-second refresh: the 409 made it fetch how the request stands now.
    expect(page.locator("#request-status")).to_have_text(re.compile("^(executing|succeeded)$"), timeout=4000)
    expect(page.locator("#request-decision")).to_contain_text(carol)
    expect(page.locator("#approve-button")).to_have_count(0)
    expect_whole_request_page(page, str(rid))


def test_approve_is_withheld_when_it_would_fail_and_the_requester_asks_again(
    page: Page, second: Page, settings: Settings, app_server: AppServer, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9355)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    alice_api = bearer(settings, alice)
    with httpx.Client(base_url=app_server.url, timeout=30) as api:
        rid = ask(api, alice_api, 9355, "template", reason="golden image").json()["request_id"]
    vm.config["cores"] = 8

    sign_in(second, bob)
    second.goto(f"/approvals/{rid}")
    expect(second.locator("#request-changes")).to_contain_text("its configuration changed")
    expect(second.locator("#approve-button")).to_be_disabled()
    expect(second.locator("#approve-blocked-why")).to_contain_text("Approving would fail")
    second.evaluate(MARK_HEADER)
    second.locator("#reject-comment").fill("it changed since; ask again")
    second.locator("#reject-button").click()
    expect(second.locator("#request-status")).to_have_text("rejected")
    expect(second.locator("#request-decision")).to_contain_text("it changed since; ask again")
    expect(second.locator("header.topbar[data-mark=loaded]")).to_have_count(1)
    expect(second.locator("#again-button")).to_have_count(0)

    sign_in(page, alice)
    page.goto(f"/approvals/{rid}")
    page.get_by_role("button", name="Ask again").click()
    expect(page).not_to_have_url(re.compile(rf"/approvals/{rid}$"))
    expect(page).to_have_url(re.compile(r"/approvals/\d+$"))
    new = page.url.rsplit("/", 1)[1]
    expect_whole_request_page(page, new)
    expect(page.locator("#request-status")).to_have_text("pending")
    expect(page.locator("#request-reason")).to_have_text("golden image")
    expect(page.locator("#no-changes")).to_be_visible()
    with httpx.Client(base_url=app_server.url, timeout=30) as api:
        assert api.post(f"/api/v1/requests/{new}/cancel", headers=alice_api).status_code == 200


def test_what_an_approver_types_survives_the_request_blocks_own_refresh(
    page: Page, app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9363)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    with httpx.Client(base_url=app_server.url, timeout=30) as api:
        rid = ask(api, bearer(settings, alice), 9363, "delete", reason="old").json()["request_id"]
    sign_in(page, bob)
    page.goto(f"/approvals/{rid}")
    page.locator("#approve-confirm").fill("93")
    page.locator("#approve-comment").fill("looks right")
    page.evaluate("document.querySelector('#request-detail').dataset.old = '1'")
    page.evaluate("document.body.dispatchEvent(new Event('conflict'))")  # what the block's refresh answers to
    expect(page.locator("#request-detail:not([data-old])")).to_have_count(1)
    expect(page.locator("#approve-confirm")).to_have_value("93")
    expect(page.locator("#approve-comment")).to_have_value("looks right")
