"""Bulk actions in the browser: shut down ten guests from the guest list and watch each guest's result on the
batch's page; delete three stopped guests as one request that another person approves, the audit telling it as
one story under the batch's id."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.bulk_guests import add_vms, bulk_guests
from tests.factories import make_user
from tests.servers import AppServer

pytestmark = pytest.mark.browser


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range."""
    yield from bulk_guests(pve)


@pytest.fixture
def second(browser: Browser, app_server: AppServer) -> Iterator[Page]:
    """Another person's browser, with cookies of its own."""
    context = browser.new_context(base_url=app_server.url)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


def test_an_operator_shuts_down_ten_guests_and_watches_each_one(
    page: Page, settings: Settings, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8670, 8680))
    for vm in pve.vms:
        if vm.vmid in vmids:
            vm.shutdown_secs = 10
    sign_in(page, make_user(settings, "operator"))
    page.goto("/guests?q=bulk867")
    expect(page.locator("#guests tbody tr")).to_have_count(10)
    page.locator("#pick-all").check()
    page.locator("#bulk-operation").select_option("shutdown")
    page.locator("#bulk-next").click()
    expect(page.locator("#bulk-guests tbody tr")).to_have_count(10)
    page.locator("#bulk-reason").fill("kernel update")
    scale, pve.time_scale = pve.time_scale, 0.05
    try:
        page.locator("#bulk-submit").click()
        expect(page).to_have_url(re.compile(r"/batches/[A-Za-z0-9_-]+$"))
        expect(page.locator("#batch-status")).to_have_text("running")
        expect(page.locator("#batch-status")).to_have_text("done", timeout=30000)
    finally:
        pve.time_scale = scale
    rows = page.locator("#batch-items tbody tr")
    expect(rows).to_have_count(10)
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.status)") == ["succeeded"] * 10
    expect(page.locator("#batch-counts")).to_have_text("10 succeeded")
    expect(page.locator("#batch-reason")).to_have_text("kernel update")
    assert {vm.status for vm in pve.vms if vm.vmid in vmids} == {"stopped"}


def test_three_stopped_guests_are_deleted_as_one_request_another_person_approves(
    page: Page, second: Page, settings: Settings, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8680, 8683), status="stopped", disk=True)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    sign_in(page, alice)
    page.goto("/guests?q=bulk868")
    for vmid in vmids:
        page.locator(f"#pick-{vmid}").check()
    page.locator("#bulk-operation").select_option("delete")
    page.locator("#bulk-next").click()
    expect(page.locator("#bulk-guests tbody tr")).to_have_count(3)
    page.locator("#bulk-reason").fill("decommissioned")
    page.get_by_role("button", name="Request: Delete guest (3 guests)").click()
    expect(page).to_have_url(re.compile(r"/approvals/\d+$"))
    expect(page.locator("#request-status")).to_have_text("pending")
    expect(page.locator("#approve-button")).to_have_count(0)
    request_path = page.url.split("//", 1)[1].split("/", 1)[1]

    sign_in(second, bob)
    second.goto(f"/{request_path}")
    expect(second.locator("#preview-guests tbody tr")).to_have_count(3)
    for vmid in vmids:
        expect(second.locator(f'#preview-guests tr[data-vmid="{vmid}"] .losses')).to_contain_text(
            f"local-lvm:vm-{vmid}-disk-0 (2 GiB) is destroyed"
        )
    expect(second.locator("#no-changes")).to_be_visible()
    second.locator("#approve-confirm").fill("3 guests")
    second.locator("#approve-button").click()
    expect(second.locator("#request-status")).to_have_text("succeeded", timeout=20000)
    second.locator("#request-batch-link").click()
    expect(second.locator("#batch-status")).to_have_text("done")
    assert [vm.vmid for vm in pve.vms if vm.vmid in vmids] == [], "the guests are gone from Proxmox"

    second.locator("#batch-audit").click()
    expect(second).to_have_url(re.compile(r"/audit\?batch="))
    batch_id = second.url.rsplit("=", 1)[1]
    events = second.locator("#audit-events tbody tr")
    # Asked, approved, the batch's start, each guest's intent, start and end, the batch's end.
    expect(events).to_have_count(2 + 1 + 3 * 3 + 1)
    texts = [t.strip() for t in second.locator("#audit-events tbody tr .outcome").all_inner_texts()]
    assert texts[-3:] == ["started", "approved", "requested"] and texts[0] == "succeeded", texts
    links = second.locator("#audit-events tbody tr .batch-link").all_inner_texts()
    assert links == [f"batch {batch_id}"] * 13
    guests = second.locator("#audit-events tbody tr td[data-label=Target] a").all_inner_texts()
    assert sorted(set(guests)) == [str(v) for v in vmids]


def test_an_operator_tags_two_guests_from_the_list(
    page: Page, settings: Settings, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8690, 8692), status="stopped")
    pve.vm(vmids[0]).config["tags"] = "old"
    sign_in(page, make_user(settings, "operator"))
    page.goto("/guests?q=bulk869")
    expect(page.locator("#guests tbody tr")).to_have_count(2)
    page.locator("#pick-all").check()
    page.locator("#bulk-operation").select_option("tag")
    page.locator("#bulk-next").click()
    page.locator("#bulk-tags-add").fill("prod bad!")
    page.locator("#bulk-tags-remove").fill("old")
    page.locator("#bulk-submit").click()
    expect(page.locator("#bulk-tags-add-error")).to_contain_text("invalid tag 'bad!'")
    expect(page.locator("#bulk-tags-remove")).to_have_value("old")
    page.locator("#bulk-tags-add").fill("prod")
    page.locator("#bulk-submit").click()
    expect(page).to_have_url(re.compile(r"/batches/[A-Za-z0-9_-]+$"))
    expect(page.locator("#batch-status")).to_have_text("done", timeout=20000)
    expect(page.locator("#batch-counts")).to_have_text("2 succeeded")
    assert [pve.vm(v).config.get("tags") for v in vmids] == ["prod", "prod"]
