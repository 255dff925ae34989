"""In the browser: a person filters the IP inventory by a network and asks for free addresses in it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def sign_in(page: Page, username: str) -> None:
    """Fill the sign-in form as a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_filter_by_prefix_then_find_free_addresses(page: Page, settings: Settings) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, make_user(settings, "viewer"))
    page.get_by_role("link", name="IPs").click()
    expect(page.get_by_role("heading", name="IP addresses")).to_be_visible()
    everything = page.locator("#ip-table tbody tr").count()
    assert everything > 20

    page.get_by_label("Address, its start, or a network").fill("10.0.10.0/24")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/ips\?prefix=10\.0\.10\.0%2F24$"))
    expect(page.locator("#ip-count")).to_contain_text("matching 10.0.10.0/24")
    addresses = page.locator("#ip-table tbody tr td:first-child code").all_inner_texts()
    assert addresses and len(addresses) < everything
    assert all(a.startswith("10.0.10.") for a in addresses)

    page.get_by_label("Subnet (CIDR)").fill("10.0.10.0/24")
    page.get_by_role("button", name="Find free addresses").click()
    expect(page).to_have_url(re.compile(r"/ips/free\?cidr=10\.0\.10\.0%2F24$"))
    expect(page.locator("#ip-free-summary")).to_contain_text("host addresses in 10.0.10.0/24")
    expect(page.locator("#ip-free-caveat")).to_contain_text("What Proxmox cannot see.")
    free = page.locator("#ip-free-list code").all_inner_texts()
    assert free and not set(free) & set(addresses), "no address a guest uses is offered"
    assert "10.0.10.1" not in free, "the configured gateway is taken"

    page.reload()
    expect(page.locator("#ip-free-list code")).to_have_count(len(free))
    expect(page.get_by_label("Subnet (CIDR)")).to_have_value("10.0.10.0/24")
    assert errors == []


def test_a_bad_filter_says_what_to_type(page: Page, settings: Settings) -> None:
    sign_in(page, make_user(settings, "viewer"))
    page.goto("/ips")
    page.get_by_label("Address, its start, or a network").fill("webserver")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#ip-filter-error")).to_contain_text("10.0.10.0/24")
