"""In the browser: search, filter, sort and page the guest list; the header search; the live refresh."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from app.services.cluster.inventory.index import natural_key
from pvesim.fake import DemoPve
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser
ROWS = "#guests tbody tr"


def open_guests(page: Page, settings: Settings) -> None:
    """Sign in as a viewer and open Guests from the menu."""
    page.goto("/login")
    page.get_by_label("Username").fill(make_user(settings, "viewer"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Guests", exact=True).click()
    expect(page.get_by_role("heading", name="Guests")).to_be_visible()


def tags_of(guest: object) -> list[str]:
    """A fake guest's tags."""
    return str(getattr(guest, "config", {}).get("tags", "")).split(";")


def test_search_box_finds_guests_by_name_vmid_and_tag(page: Page, settings: Settings, pve: DemoPve) -> None:
    everyone = [*pve.vms, *pve.cts]
    open_guests(page, settings)
    expect(page.locator(ROWS)).to_have_count(min(50, len(everyone)))
    search = page.get_by_label("Search", exact=True)
    search.fill("gitlab")
    expect(page).to_have_url(re.compile(r"/guests\?q=gitlab$"))
    expect(page.locator(ROWS)).to_have_count(sum("gitlab" in g.name for g in everyone))
    expect(page.locator(ROWS).first).to_contain_text("gitlab")
    web = next(g for g in pve.vms if g.name == "web01")
    search.fill(str(web.vmid))
    expect(page.locator(ROWS)).to_have_count(sum(str(g.vmid).startswith(str(web.vmid)) for g in everyone))
    expect(page.locator(f'tr[data-vmid="{web.vmid}"]')).to_contain_text("web01")
    search.fill("monitoring")
    expect(page.locator(ROWS)).to_have_count(sum("monitoring" in tags_of(g) for g in everyone))


def test_filter_by_node_sort_and_go_to_page_two(page: Page, settings: Settings, pve: DemoPve) -> None:
    everyone = [*pve.vms, *pve.cts]
    open_guests(page, settings)
    page.get_by_label("Node").select_option("pve2")
    expect(page).to_have_url(re.compile(r"node=pve2"))
    expect(page.locator(ROWS)).to_have_count(sum(g.node == "pve2" for g in everyone))
    page.get_by_role("link", name="Name").click()
    expect(page).to_have_url(re.compile(r"node=pve2&sort=name$"))
    names = sorted((g.name for g in everyone if g.node == "pve2"), key=natural_key)
    expect(page.locator(f"{ROWS} .guest-name")).to_have_text(names)
    page.get_by_role("link", name="Name").click()
    expect(page).to_have_url(re.compile(r"sort=name&order=desc"))
    expect(page.locator(f"{ROWS} .guest-name")).to_have_text(names[::-1])
    page.get_by_label("Node").select_option("")
    page.get_by_label("Rows").select_option("25")
    expect(page).to_have_url(re.compile(r"sort=name&order=desc&per_page=25$"))
    page.get_by_role("link", name="Page 2").click()
    expect(page).to_have_url(re.compile(r"page=2&per_page=25$"))
    expect(page.locator(ROWS)).to_have_count(len(everyone) - 25)
    expect(page.locator("#guest-summary")).to_contain_text(f"Showing 26–{len(everyone)} of {len(everyone)}")
    page.reload()
    expect(page.locator(ROWS)).to_have_count(len(everyone) - 25)
    expect(page.get_by_label("Rows")).to_have_value("25")


def test_header_search_jumps_to_the_guest(page: Page, settings: Settings, pve: DemoPve) -> None:
    web = next(g for g in pve.vms if g.name == "web01")
    open_guests(page, settings)
    box = page.get_by_label("Find a guest")
    box.fill("web01")
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/guests/{web.vmid}$"))
    page.go_back()
    page.get_by_label("Find a guest").fill("prod")
    page.get_by_label("Find a guest").press("Enter")
    expect(page).to_have_url(re.compile(r"/guests\?q=prod$"))
    expect(page.get_by_label("Search", exact=True)).to_have_value("prod")


def test_the_table_refreshes_without_losing_the_typed_filter(
    page: Page, settings: Settings, pve: DemoPve
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.clock.install()  # the page's timers, moved on below instead of waited out
    open_guests(page, settings)
    search = page.get_by_label("Search", exact=True)
    search.fill("db")
    expect(page).to_have_url(re.compile(r"q=db$"))
    matching = sum("db" in g.name or "db" in tags_of(g) for g in [*pve.vms, *pve.cts])
    expect(page.locator(ROWS)).to_have_count(matching)
    with page.expect_response(
        lambda r: r.url.endswith("/guests?q=db") and r.request.headers.get("hx-trigger") == "guest-table",
        timeout=15000,
    ):
        page.clock.fast_forward(5000)  # the table refreshes every 5 seconds
    page.wait_for_timeout(300)
    # The refresh replaced the table only: the box keeps its text and the focus, the rows stay filtered.
    expect(search).to_have_value("db")
    expect(search).to_be_focused()
    expect(page.locator(ROWS)).to_have_count(matching)
    expect(page).to_have_url(re.compile(r"/guests\?q=db$"))
    assert errors == []


def test_guest_list_is_usable_on_a_phone(phone: Page, settings: Settings) -> None:
    open_guests(phone, settings)
    expect(phone.locator("#guests")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways; the table scrolls inside its frame"
