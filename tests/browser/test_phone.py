"""On a phone (390 px): no main page scrolls sideways, the IP inventory and the guest page not even inside a
table, the guest list shows what matters without scrolling its table, storage usage is not cut off."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.backup_guests import Made
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser
WIDTH = 390
PAGES = ("/", "/guests", "/guests/139", "/storage", "/backups", "/tasks", "/ips", "/provision", "/audit")


@pytest.fixture
def operator_phone(phone: Page, settings: Settings) -> Page:
    """A signed-in operator on a phone."""
    sign_in(phone, make_user(settings, "operator"))
    return phone


def inside(locator: Locator) -> bool:
    """True when the element is within the screen's width, as it stands (nothing scrolled)."""
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5


def overflowing(page: Page, selector: str) -> list[str]:
    """The elements matching selector whose content is wider than they are (they would scroll sideways)."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)]
            .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.id || e.className || e.tagName)""",
        selector,
    )


@pytest.mark.parametrize("path", PAGES)
def test_no_main_page_scrolls_sideways(operator_phone: Page, backup_guests: Made, path: str) -> None:
    operator_phone.goto(path)
    expect(operator_phone.locator("h1")).to_be_visible()
    assert operator_phone.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_the_ip_inventory_and_the_guest_page_do_not_scroll_even_inside(operator_phone: Page) -> None:
    operator_phone.goto("/ips")
    expect(operator_phone.locator("#ip-table")).to_be_visible()
    assert overflowing(operator_phone, "#ip-inventory, #ip-inventory *") == []
    assert inside(operator_phone.locator("#ip-table tbody tr").first)
    operator_phone.goto("/guests/139")
    expect(operator_phone.locator("#guest-config")).to_be_visible()
    assert (
        overflowing(operator_phone, "#guest-detail, #guest-detail *, #guest-actions, #guest-actions *") == []
    )


def test_the_guest_list_shows_status_and_usage_without_scrolling(operator_phone: Page, pve: DemoPve) -> None:
    operator_phone.goto("/guests")
    row = operator_phone.locator("#guests tbody tr").first
    for cell in ("td.guest-status", "a.guest-name"):
        expect(row.locator(cell)).to_be_visible()
        assert inside(row.locator(cell)), f"{cell} is cut off"
    running = operator_phone.locator("#guests tbody tr:has(.state-running)").first
    assert inside(running.locator(".bar-wrap").first), "CPU usage shows without scrolling"


def test_storage_usage_is_not_cut_off(operator_phone: Page) -> None:
    operator_phone.goto("/")
    labels = operator_phone.locator("#storage-table .bar-label, .storage-usage .bar-label")
    expect(labels.first).to_be_visible()
    for index in range(labels.count()):
        assert inside(labels.nth(index)), labels.nth(index).inner_text()
