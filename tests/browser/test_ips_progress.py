"""In the browser, on a new install: /ips shows at once how far the reading has come and fills in by itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_ips import sign_in
from tests.factories import make_user
from tests.fakepve_thread import ServedFake
from tests.ip_guests import cold_app
from tests.servers import AppServer

pytestmark = pytest.mark.browser


@pytest.fixture
def cold(
    served_fake: ServedFake, empty_database: str, tmp_path: Path, pve: DemoPve
) -> Iterator[tuple[AppServer, Settings]]:
    """An app that has never read the cluster, which answers its reads late: configurations after a second,
    guest agents and containers' interfaces after six (set before the app starts, which starts reading)."""
    for suffix, seconds in (("/config", 1.0), ("/agent/network-get-interfaces", 6.0), ("/interfaces", 6.0)):
        pve.stall("GET", suffix, seconds)
    with cold_app(served_fake, empty_database, tmp_path / "data") as made:
        yield made


@pytest.fixture
def cold_page(browser: Browser, cold: tuple[AppServer, Settings]) -> Iterator[Page]:
    """A browser tab on the cold app, signed in as a viewer."""
    server, settings = cold
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(15000)
    tab = context.new_page()
    sign_in(tab, make_user(settings, "viewer"))
    yield tab
    context.close()


def test_the_page_shows_its_progress_then_configured_then_reported_addresses(
    cold_page: Page, pve: DemoPve
) -> None:
    page = cold_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/ips")
    progress = page.locator("#ip-progress")
    expect(progress).to_contain_text("guests' configurations")
    expect(page.locator("#ip-empty")).to_contain_text("No address is known yet")

    expect(progress).to_contain_text("guest agents and container interfaces", timeout=30000)
    rows = page.locator("#ip-table tbody tr")
    expect(rows.first).to_be_visible()
    sources = page.locator("#ip-table td[data-label='Source']").all_inner_texts()
    # The configured addresses are listed while guest agents are still being asked (some may have answered).
    assert sources and any(s.startswith("config: ") for s in sources), "configured addresses come first"
    expect(progress).to_contain_text("guest agents and container interfaces")

    expect(progress).to_be_hidden(timeout=30000)
    expect(page.locator("#ip-table td[data-label='Source']", has_text="guest agent").first).to_be_visible()
    expect(page.locator("#ip-count")).not_to_contain_text("so far")
    assert errors == []
