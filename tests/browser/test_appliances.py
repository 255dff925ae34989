"""In the browser: find an appliance template on the node page, download it onto the node's template storage
(its task followed until OK, the row then marked as held), and create a container from it in "New guest"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser
TEMPLATE = "fedora-42-default_20250428_amd64.tar.xz"
VMID = 9368


@pytest.fixture
def no_fedora(pve: DemoPve, scratch: None) -> Iterator[None]:
    """The Fedora template is on no storage before the test and after it."""
    pve.storages["local"]["volumes"].pop(f"vztmpl/{TEMPLATE}", None)
    yield
    pve.storages["local"]["volumes"].pop(f"vztmpl/{TEMPLATE}", None)


def test_download_an_appliance_template_and_create_a_container_from_it(
    page: Page, settings: Settings, pve: DemoPve, no_fedora: None
) -> None:
    sign_in(page, make_user(settings, "operator"))
    page.goto("/nodes/pve2")
    section = page.locator("#node-appliances")
    section.get_by_label("Search").fill("fedora")
    row = section.locator(f"tr[data-template='{TEMPLATE}']")
    expect(section.locator("#appliance-table tbody tr")).to_have_count(1)
    expect(row.locator("td.stored")).to_have_text("–")
    row.get_by_role("button", name="Download").click()
    expect(section.locator("#action-started")).to_contain_text(
        f"Download template {TEMPLATE} to local on pve2"
    )
    expect(section.locator("#action-started #task-exit")).to_have_text("OK", timeout=20000)
    expect(row.locator("td.stored")).to_have_text("local")
    expect(row.get_by_role("button", name="Download")).to_have_count(0)

    page.goto("/provision")
    form = page.locator("#create-ct-form")
    form.get_by_label("Node").select_option("pve2")
    form.get_by_label("Hostname").fill("fedora-9368")
    form.get_by_label("Template").select_option(f"local:vztmpl/{TEMPLATE}")
    form.get_by_label("VMID").fill(str(VMID))
    form.get_by_role("button", name="Create container").click()
    expect(page.locator("#action-started #task-exit")).to_have_text("OK", timeout=20000)
    made = pve.ct(VMID)
    assert made.node == "pve2" and made.config["hostname"] == "fedora-9368"
