"""In the browser: the node page shows the latest lines of the node's log; the log page reads it newest first,
filters it by text and service, pages back, and follows new lines while it is open."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_read_filter_page_and_follow_a_nodes_log(page: Page, settings: Settings, pve: DemoPve) -> None:
    marker = f"port {40000 + int(time.monotonic() * 1000) % 20000}"
    pve.journal_append("pve3", "sshd", f"Accepted publickey for root from 10.7.7.7 {marker} ssh2", pid=777)
    sign_in(page, make_user(settings, "viewer"))
    page.goto("/nodes/pve3")
    expect(page.locator("#node-log-recent")).to_contain_text(marker)
    page.locator("#node-log-link").click()

    expect(page.locator("main h1")).to_have_text("System log of pve3")
    first = page.locator("#log-table tbody tr").first
    expect(first).to_contain_text(marker)
    expect(page.locator("#log-table tbody tr")).to_have_count(100)
    page.locator("#log-older").click()
    expect(page.locator("#log-count")).to_contain_text("older than the first page")
    expect(page.locator("#log-table")).not_to_contain_text(marker)

    page.goto("/nodes/pve3/log")
    page.get_by_label("Service").fill("sshd")
    page.get_by_label("Text").fill("10.7.7.7")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#log-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"service=sshd"))

    page.get_by_label("Text").fill("pmxcfs-follow")
    page.get_by_label("Service").fill("")
    page.get_by_label("Follow live").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#log-table")).to_contain_text("No line matches")
    pve.journal_append("pve3", "pmxcfs", "[status] notice: pmxcfs-follow update", pid=1201)
    expect(page.locator("#log-table tbody tr[data-service=pmxcfs]")).to_have_count(1, timeout=12000)


def test_a_token_without_sys_syslog_is_named_on_the_page(
    page: Page, settings: Settings, pve: DemoPve
) -> None:
    pve.fail("GET", "/nodes/pve2/journal", 403, "Permission check failed (/nodes/pve2, Sys.Syslog)")
    sign_in(page, make_user(settings, "viewer"))
    page.goto("/nodes/pve2/log")
    expect(page.locator("#log-forbidden")).to_contain_text("lacks the Sys.Syslog privilege on /nodes/pve2")
    page.goto("/nodes/pve2")
    expect(page.locator("#node-log-section #log-forbidden")).to_be_visible()
