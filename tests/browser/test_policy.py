"""The approval policy file in the browser, each person in a browser of their own: a rule that needs an approver
from the dba group, a freeze, a maintenance window (the app's clock moved, never waited for), break-glass with
its review by a third person, and a change of the file seen on the admin page and in the audit history."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, sent
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user
from tests.fakepve_thread import ServedFake
from tests.policy_app import (
    clock_of,
    freeze_ends,
    grouped_user,
    next_saturday_half_past_midnight,
    policy_text,
    ruled_app,
)
from tests.servers import AppServer

pytestmark = pytest.mark.browser
WAIT = 20000  # ms: a decision runs, its task ends and the request's block shows it
# ms: the window loop's round (2 s), then the scheduled request's block refreshing itself (every 10 s) and a run.
WINDOW_WAIT = 30000

Person = Callable[[str], Page]


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The policy file, with its freeze ending three days from now on the hour."""
    path = tmp_path_factory.mktemp("policy") / "policy.toml"
    path.write_text(policy_text(freeze_ends()))
    return path


@pytest.fixture(scope="module")
def ruled(
    served_fake: ServedFake, database_url: str, tmp_path_factory: pytest.TempPathFactory, policy_file: Path
) -> Iterator[AppServer]:
    """The app reading the policy file."""
    with ruled_app(served_fake, database_url, tmp_path_factory.mktemp("ruled"), policy_file) as server:
        yield server


@pytest.fixture
def rsettings(ruled: AppServer) -> Settings:
    """The policy app's settings (the suite's database and keys)."""
    settings: Settings = ruled.app.state.runtime.settings
    return settings


@pytest.fixture
def person(browser: Browser, ruled: AppServer) -> Iterator[Person]:
    """Sign someone in, in a browser context of their own; all are closed after the test."""
    contexts = []

    def signed_in_as(name: str) -> Page:
        context = browser.new_context(base_url=ruled.url)
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, name)
        expect(page.locator(".who .user")).to_have_text(name)
        return page

    yield signed_in_as
    for context in contexts:
        context.close()


@pytest.fixture
def moved_clock(ruled: AppServer) -> Iterator[None]:
    """The policy's clock set back to the real time after the test."""
    yield
    clock_of(ruled).offset = timedelta(0)


def tagged_vm(pve: DemoPve, vmid: int, tag: str) -> None:
    """A stopped VM carrying the tag."""
    add_vm(pve, vmid).config["tags"] = tag


def ask_to_delete(page: Page, vmid: int, reason: str) -> str:
    """On the guest's page, ask to delete it, saying why; the request page's address."""
    page.goto(f"/guests/{vmid}")
    page.locator("#delete-form-box summary").click()
    page.locator("#delete-reason").fill(reason)
    page.get_by_role("button", name=f"Request: Delete VM {vmid}").click()
    expect(page).to_have_url(re.compile(r"/approvals/\d+$"))
    return page.url


def approve(page: Page, url: str, typed: str | None) -> None:
    """Open the request and approve it (typing the VMID where the page asks for it)."""
    page.goto(url)
    if typed is not None:
        page.locator("#approve-confirm").fill(typed)
    page.locator("#approve-button").click()


def test_a_production_deletion_waits_for_an_approver_from_the_dba_group(
    person: Person, rsettings: Settings, pve: DemoPve, scratch: None
) -> None:
    tagged_vm(pve, 9380, "prod")
    alice = person(make_user(rsettings, "operator"))
    bob_name = grouped_user(rsettings, "approver", "web")
    alice.goto("/guests/9380")
    alice.locator("#guest-policy summary").click()
    expect(alice.locator('#guest-policy li[data-operation="delete"]')).to_have_text(
        "Delete guest: 2 approvals, at least one from each of dba (rule 'production databases')."
    )
    url = ask_to_delete(alice, 9380, "the database moved to 9381")
    expect(alice.locator("#request-rule")).to_contain_text(
        "production databases: 2 approvals, at least one from each of dba"
    )

    bob = person(bob_name)
    approve(bob, url, "9380")
    expect(bob.locator("#request-approvals")).to_contain_text("1 of 2")
    expect(bob.locator("#request-approvals")).to_contain_text(f"{bob_name} (web)")
    expect(bob.locator("#request-status")).to_have_text("pending")
    expect(bob.locator("#request-may-approve")).to_have_text(
        "Still needed: 1 more approval: an approver other than the requester, in dba "
        f"(not {bob_name}, who approved already)."
    )
    # Bob's approval counted: the page offers him no second one and says what it waits for.
    expect(bob.locator("#approve-button")).to_have_count(0)
    expect(bob.locator("#approve-refused")).to_have_text(
        "You approved this request; it still needs an approver from dba."
    )
    # Another approver outside dba cannot complete it, and the page says so instead of offering the button.
    dave = person(grouped_user(rsettings, "approver", "web,ops"))
    dave.goto(url)
    expect(dave.locator("#approve-refused")).to_have_text(
        "Rule 'production databases' still needs an approver from dba; you are in ops, web."
    )
    expect(dave.locator("#approve-button")).to_have_count(0)
    expect(dave.locator("#reject-button")).to_be_visible()
    assert pve.vm(9380) is not None

    carol = person(grouped_user(rsettings, "approver", "dba"))
    approve(carol, url, "9380")
    expect(carol.locator("#request-status")).to_have_text("succeeded", timeout=WAIT)
    expect(carol.locator("#request-approvals")).to_contain_text("2 of 2")
    assert pve.vm(9380) is None


def test_a_freeze_refuses_a_deletion_and_says_until_when(
    person: Person, rsettings: Settings, pve: DemoPve, scratch: None, policy_file: Path
) -> None:
    tagged_vm(pve, 9382, "frozen")
    until = re.search(r'until = "(\d{4}-\d\d-\d\d)T(\d\d:\d\d):00Z"', policy_file.read_text())
    assert until is not None
    shown = f"{until[1]} {until[2]} UTC"
    seen = len(pve.requests)
    alice_name = make_user(rsettings, "operator")
    alice = person(alice_name)
    alice.goto("/guests/9382")
    alice.locator("#guest-policy summary").click()
    expect(alice.locator('#guest-policy li[data-operation="delete"]')).to_have_text(
        f"Delete guest: year-end freeze: refused until {shown}."
    )
    alice.locator("#delete-form-box summary").click()
    alice.locator("#delete-reason").fill("not needed any more")
    alice.get_by_role("button", name="Request: Delete VM 9382").click()
    expect(alice.locator("#toasts .toast-error .toast-text")).to_have_text(
        f"year-end freeze: no destructive change is asked for until {shown}."
    )
    expect(alice).to_have_url(re.compile(r"/guests/9382$"))
    alice.goto("/approvals")  # nothing of hers waits, nor was decided
    expect(alice.locator("#approval-lists tbody tr", has_text=alice_name)).to_have_count(0)
    assert pve.vm(9382) is not None and not sent(pve, seen, "DELETE", "/qemu/9382")


def test_a_resize_approved_before_its_window_runs_when_the_window_opens(
    person: Person,
    rsettings: Settings,
    ruled: AppServer,
    pve: DemoPve,
    scratch: None,
    moved_clock: None,
) -> None:
    tagged_vm(pve, 9383, "maint")
    clock = clock_of(ruled)
    clock.offset = next_saturday_half_past_midnight() - datetime.now(UTC)
    opens = f"{clock.now():%Y-%m-%d} 02:00 UTC"
    seen = len(pve.requests)
    alice = person(make_user(rsettings, "operator"))
    alice.goto("/guests/9383")
    alice.locator("#guest-policy summary").click()
    expect(alice.locator('#guest-policy li[data-operation="resize"]')).to_have_text(
        f"Resize disk: 1 approval (the settings); runs in window 'maintenance' (from {opens})."
    )
    alice.locator("#resize-form-box summary").click()
    alice.locator("#resize-size").fill("16G")
    alice.locator("#resize-reason").fill("the database grows")
    alice.locator("#resize-form button[type=submit]").click()
    expect(alice).to_have_url(re.compile(r"/approvals/\d+$"))
    url = alice.url

    bob = person(make_user(rsettings, "approver"))
    approve(bob, url, None)
    expect(bob.locator("#request-status")).to_have_text("scheduled")
    expect(bob.locator("#request-window")).to_have_text(
        f"Runs only in the maintenance window “maintenance”: at {opens}, "
        f"until {opens.replace('02:00', '06:00')} at the latest (then it expires)."
    )
    assert not sent(pve, seen, "PUT", "/qemu/9383/resize")

    clock.move(timedelta(hours=2))  # 02:30 on Saturday: the window is open
    # The page follows the scheduled request by itself: nobody reloads it.
    expect(bob.locator("#request-status")).to_have_text("succeeded", timeout=WINDOW_WAIT)
    assert sent(pve, seen, "PUT", "/qemu/9383/resize")
    assert "size=16G" in pve.vm(9383).config["scsi0"]


def test_a_request_whose_window_passed_unrun_expires(
    person: Person,
    rsettings: Settings,
    ruled: AppServer,
    pve: DemoPve,
    scratch: None,
    moved_clock: None,
) -> None:
    tagged_vm(pve, 9384, "maint")
    clock = clock_of(ruled)
    clock.offset = next_saturday_half_past_midnight() - datetime.now(UTC)
    seen = len(pve.requests)
    crew = people(rsettings)
    with httpx.Client(base_url=ruled.url, timeout=30) as client:
        asked = ask(client, crew.alice, 9384, "resize", disk="scsi0", size="16G", reason="grow")
        assert asked.status_code == 202, asked.text
        rid = asked.json()["request_id"]
        approved = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob)
        assert approved.json()["status"] == "scheduled", approved.text
    bob = person(crew.bob_name)
    bob.goto(f"/approvals/{rid}")
    expect(bob.locator("#request-status")).to_have_text("scheduled")
    clock.move(timedelta(hours=7))  # 07:30: the window closed an hour and a half ago
    expect(bob.locator("#request-status")).to_have_text("expired", timeout=WINDOW_WAIT)
    assert not sent(pve, seen, "PUT", "/qemu/9384/resize")


def test_an_admin_breaks_the_glass_and_a_third_person_reviews_it(
    person: Person, rsettings: Settings, pve: DemoPve, scratch: None
) -> None:
    tagged_vm(pve, 9385, "prod")
    requester_name = grouped_user(rsettings, "approver", "web")
    admin_name, reviewer_name = make_user(rsettings, "admin"), grouped_user(rsettings, "approver", "ops")
    requester = person(requester_name)
    url = ask_to_delete(requester, 9385, "it is attacking other guests")
    rid = url.rsplit("/", 1)[1]

    admin = person(admin_name)
    admin.goto(url)
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.locator("#break-glass-reason").fill("it is sending spam right now")
    admin.locator("#break-glass-button").click()
    expect(admin.locator("#request-status")).to_have_text("succeeded", timeout=WAIT)
    assert pve.vm(9385) is None
    expect(admin.locator("#request-break-glass .banner")).to_have_text(
        f"Run without its approvals by {admin_name}: it is sending spam right now"
    )
    expect(admin.locator("#request-review-needed")).to_have_text(
        f"Needs a review by someone other than {admin_name} and {requester_name}."
    )
    # Neither the admin who broke the glass nor the person who asked may review it.
    expect(admin.locator("#review-form")).to_have_count(0)
    requester.goto(url)
    expect(requester.locator("#request-review-needed")).to_be_visible()
    expect(requester.locator("#review-form")).to_have_count(0)
    own = requester.request.post(
        f"/approvals/{rid}/review",
        form={"comment": "fine", "csrf_token": csrf_of(requester)},
        headers={"HX-Request": "true"},
    )
    assert own.status == 403, own.status
    admin.goto("/approvals?status=needs-review")
    expect(admin.locator(f'#request-history tr[data-request="{rid}"] .status-break-glass')).to_have_text(
        "break-glass"
    )

    reviewer = person(reviewer_name)
    reviewer.goto("/")
    expect(reviewer.locator("#reviews-due")).to_contain_text("Break-glass: review due.")
    reviewer.locator(f'#reviews-due a[href$="/approvals/{rid}"]').click()
    expect(reviewer).to_have_url(re.compile(rf"/approvals/{rid}$"))
    reviewer.locator("#review-comment").fill("justified: the guest was compromised")
    reviewer.locator("#review-button").click()
    expect(reviewer.locator("#request-review")).to_contain_text(f"Reviewed by {reviewer_name}, ")
    expect(reviewer.locator("#request-review")).to_contain_text(": justified: the guest was compromised")
    expect(reviewer.locator("#review-form")).to_have_count(0)
    reviewer.goto("/")
    expect(reviewer.locator(f'#reviews-due a[href$="/approvals/{rid}"]')).to_have_count(0)
    reviewer.goto("/approvals?status=needs-review")
    expect(reviewer.locator(f'tr[data-request="{rid}"]')).to_have_count(0)


def csrf_of(page: Page) -> str:
    """The CSRF token of the page's session, from its meta tag."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    return token


def test_a_policy_change_shows_on_the_admin_page_and_in_the_audit_with_its_diff(
    person: Person, rsettings: Settings, ruled: AppServer, policy_file: Path
) -> None:
    clock = clock_of(ruled)
    before = policy_file.read_text()
    admin = person(make_user(rsettings, "admin"))
    admin.goto("/approvals")
    expect(admin.locator("#approval-policy-file")).to_contain_text("Each request says which rule applied")
    admin.get_by_role("link", name="the policy in force").click()
    expect(admin).to_have_url(re.compile(r"/admin/policy$"))
    rule = admin.locator('#policy-rules [data-rule="production databases"]')
    expect(rule).to_contain_text("production databases: 2 approvals, at least one from each of dba.")
    try:
        policy_file.write_text(before.replace("approvals = 2", "approvals = 3"))
        clock.move(timedelta(seconds=5))  # past the few seconds between looks at the file
        admin.reload()
        expect(rule).to_contain_text("production databases: 3 approvals, at least one from each of dba.")
        admin.locator("#policy-audit-link").click()
        expect(admin).to_have_url(re.compile(r"/audit\?operation=policy-change$"))
        newest = admin.locator("#audit-events tbody tr").first
        expect(newest.locator(".outcome")).to_have_text("succeeded")
        expect(newest).to_contain_text(f"policy file {policy_file} taken into use")
        expect(newest.locator('td[data-label="Target"]')).to_have_text(str(policy_file))
        expect(newest.locator(".policy-diff")).to_contain_text(
            "\n-approvals = 2\n+approvals = 3\n", use_inner_text=True
        )
    finally:
        policy_file.write_text(before)
        clock.move(timedelta(seconds=5))
        admin.goto("/admin/policy")
        expect(rule).to_contain_text("production databases: 2 approvals")
