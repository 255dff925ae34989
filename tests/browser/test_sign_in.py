"""In the browser: sign in, see the dashboard, sign out; a failed sign-in; admin adds a user."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import PASSWORD, make_user, unique_name

pytestmark = pytest.mark.browser


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form as a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_operator_signs_in_sees_the_cluster_and_signs_out(
    page: Page, settings: Settings, pve: DemoPve
) -> None:
    name = make_user(settings, "operator")
    sign_in(page, name)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Cluster")).to_be_visible()
    expect(page.locator("#node-table tbody tr")).to_have_count(len(pve.nodes))
    expect(page.locator("#stat-nodes .stat-value")).to_have_text(f"{len(pve.nodes)} / {len(pve.nodes)}")
    expect(page.locator(".who .user")).to_have_text(name)
    expect(page.locator(".who .role")).to_have_text("operator")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_failed_sign_in_shows_a_message_and_stays_out(page: Page, settings: Settings) -> None:
    name = make_user(settings, "viewer")
    sign_in(page, name, "wrong password")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login"))


def test_dashboard_refreshes_itself_without_errors(page: Page, settings: Settings) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.clock.install()  # the page's timers, moved on below instead of waited out
    sign_in(page, make_user(settings, "viewer"))
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true", timeout=15000):
        page.clock.fast_forward(10_000)  # the dashboard refreshes every 10 seconds
    expect(page.locator("#cluster-health")).to_be_visible()
    assert errors == []


def test_admin_adds_a_user_who_can_then_sign_in(page: Page, browser: object, settings: Settings) -> None:
    sign_in(page, make_user(settings, "admin"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    newcomer = unique_name("carol")
    form = page.locator("#user-create")
    form.get_by_label("Username").fill(newcomer)
    form.get_by_label("Role").select_option("approver")
    form.get_by_label("Password").fill("a long enough password")
    form.get_by_role("button", name="Add user").click()
    expect(page.locator("#admin-notice")).to_have_text(f"User {newcomer} (approver) added.")
    # The answer lists the account it made, however many there are.
    expect(page.locator("#user-table tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-user="{newcomer}"]')).to_contain_text("approver")
    page.locator("#show-everyone").click()
    page.get_by_label("Find an account or token").fill(newcomer.upper())
    expect(page.locator("#user-table tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-user="{newcomer}"]')).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/admin/users\?q={newcomer.upper()}$"))
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, newcomer, "a long enough password")
    expect(page.locator(".who .role")).to_have_text("approver")


def test_dashboard_is_readable_on_a_phone(phone: Page, settings: Settings) -> None:
    sign_in(phone, make_user(settings, "viewer"))
    expect(phone.locator("#node-table")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways; wide tables scroll inside their frame"
