"""In the browser: an operator empties a node from its page (the plan says where each guest goes, Start runs it
as a batch whose page follows each guest), the dashboard shows the node without guests while Proxmox runs them
elsewhere, and the node page brings them back. On a cluster and an app of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.conftest import app_settings
from tests.evacuation_guests import (
    MOVABLE,
    NODE,
    evacuation_app,
    own_database,
    served_cluster,
    until,
    where,
)
from tests.factories import make_user
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFake]:
    """pve1-pve4, every guest of pve4 able to move; a migration takes a few tenths of a second."""
    yield from served_cluster(tmp_path_factory.mktemp("evac-ui-pki"), stuck=False, time_scale=0.02)


@pytest.fixture(scope="module")
def evac_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own database."""
    yield from own_database(database_url, tmp_path_factory.mktemp("evac-ui-data-db"))


@pytest.fixture(scope="module")
def evac_settings(
    cluster: ServedFake, evac_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The settings of this module's app, on that cluster and its own database."""
    return app_settings(cluster, evac_database, tmp_path_factory.mktemp("evac-ui-data"))


@pytest.fixture(scope="module")
def evac_app(evac_settings: Settings) -> Iterator[AppServer]:
    """This module's app."""
    yield from evacuation_app(evac_settings)


@pytest.fixture
def tab(browser: Browser, evac_app: AppServer) -> Iterator[Page]:
    """A browser tab on this module's app."""
    context = browser.new_context(base_url=evac_app.url)
    context.set_default_timeout(20000)
    page = context.new_page()
    yield page
    context.close()


def batch_ends_done(page: Page, count: int) -> None:
    """The batch page shows every guest's migration succeeded, and the batch done."""
    expect(page).to_have_url(re.compile(r"/batches/[\w-]+$"))
    expect(page.locator("#batch-detail")).to_have_attribute("data-status", "done")
    expect(page.locator('#batch-items tr[data-status="succeeded"]')).to_have_count(count)


def node_row(page: Page) -> str:
    """The dashboard's guest count of NODE."""
    page.goto("/")
    return page.locator(f'#node-table tr[data-node="{NODE}"] td[data-label="Guests"]').inner_text()


def test_empty_a_node_and_bring_its_guests_back(
    tab: Page, evac_settings: Settings, cluster: ServedFake
) -> None:
    pve: DemoPve = cluster.pve  # type: ignore[assignment]
    sign_in(tab, make_user(evac_settings, "operator"))
    assert node_row(tab) == "3 running / 4"
    tab.goto(f"/nodes/{NODE}")
    tab.get_by_role("link", name="Empty this node…").click()

    expect(tab.locator("h1")).to_have_text(f"Empty node {NODE}")
    rows = tab.locator("#empty-plan-table tbody tr")
    expect(rows).to_have_count(len(MOVABLE))
    for vmid in MOVABLE:
        row = tab.locator(f'#empty-plan-table tr[data-vmid="{vmid}"]')
        expect(row).to_have_attribute("data-action", "migrate")
        expect(row.locator(".plan-target")).to_contain_text(re.compile(r"pve[123]"))
        expect(row.locator(".plan-reason")).to_contain_text("memory free after it")
    tab.get_by_label("Reason").fill("kernel update")
    tab.get_by_role("button", name=f"Start: move {len(MOVABLE)} guests").click()

    batch_ends_done(tab, len(MOVABLE))
    expect(tab.locator("#batch-reason")).to_have_text("kernel update")
    batch_id = tab.url.rsplit("/", 1)[1]
    assert node_row(tab) == "0 running / 0"
    assert all(where(pve, vmid) != NODE for vmid in MOVABLE)

    tab.goto(f"/nodes/{NODE}")
    # This batch's row: other tests' apps share the database, and may have emptied a pve4 of their own.
    emptied = tab.locator(f'#empty-batches tr[data-batch="{batch_id}"]')
    expect(emptied).to_contain_text(f"{len(MOVABLE)} of {len(MOVABLE)}")
    emptied.get_by_role("button", name="Bring them back").click()

    batch_ends_done(tab, len(MOVABLE))
    expect(tab.locator("#batch-reason")).to_have_text(f"Bring back the guests moved off {NODE}")
    until(lambda: all(where(pve, vmid) == NODE for vmid in MOVABLE))
    until(lambda: node_row(tab) == "3 running / 4")
    tab.goto(f"/nodes/{NODE}")
    expect(emptied.locator(".brought-back")).to_have_text("Brought back")
    expect(emptied.locator(".bring-back")).to_have_count(0)
