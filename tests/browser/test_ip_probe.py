"""In the browser, with PROXGATE_IP_PROBE=ping: the free-address finder marks a loopback address that answers a
ping as in use outside Proxmox, and says which checks ran and what none of them can see."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from app.config import Settings
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user
from tests.servers import AppServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def probing(settings: Settings) -> Iterator[AppServer]:
    """The suite's app with the probe on."""
    server = AppServer(settings.model_copy(update={"ip_probe": "ping"}))
    yield server
    server.stop()


def test_the_finder_marks_a_loopback_address_that_answers_as_in_use(
    browser: Browser, probing: AppServer, settings: Settings
) -> None:
    context = browser.new_context(base_url=probing.url)
    page = context.new_page()
    try:
        sign_in(page, make_user(settings, "viewer"))
        page.goto("/ips")
        page.get_by_label("Subnet (CIDR)").fill("127.0.0.0/30")
        page.get_by_role("button", name="Find free addresses").click()
        expect(page.locator("#ip-free-none")).to_be_visible()
        expect(page.locator("#ip-free-checks")).to_contain_text(
            "Checked beyond Proxmox: a ping from Proxgate's host"
        )
        expect(page.locator("#ip-free-checks")).to_contain_text(
            "a stopped server that owns a DHCP reservation"
        )
        page.locator("#ip-free-used summary").click()
        used = page.locator("#ip-free-used li", has_text="127.0.0.1")
        expect(used).to_contain_text("in use outside Proxmox: it answered a ping from Proxgate's host")
    finally:
        context.close()
