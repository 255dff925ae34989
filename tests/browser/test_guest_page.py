"""In the browser: the guest page's actions sit at the top, a form opens right below them, an action's result
shows beside them and as a toast, and when its task ends every part of the page shows the guest as it is now."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser
VMID = 9844


@pytest.fixture
def stopped_vm(pve: DemoPve) -> Iterator[Any]:
    """A stopped VM with a disk and a snapshot; removed afterwards."""
    vm = pve.add_vm(
        VMID,
        "follow-me",
        node="pve1",
        status="stopped",
        config={"scsi0": f"local-lvm:vm-{VMID}-disk-0,size=8G"},
    )
    vm.snapshots["before"] = {"snaptime": 1700000000, "description": "", "snapstate": None}
    yield vm
    pve.vms.remove(vm)


@pytest.fixture
def operator(page: Page, settings: Settings) -> Page:
    """A signed-in operator."""
    sign_in(page, make_user(settings, "operator"))
    return page


def bottom_of(page: Page, selector: str) -> float:
    """Where the element ends, in page pixels."""
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["y"] + box["height"]


def top_of(page: Page, selector: str) -> float:
    """Where the element starts, in page pixels."""
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["y"]


def test_a_started_guest_s_whole_page_follows_its_task(operator: Page, stopped_vm: Any) -> None:
    operator.goto(f"/guests/{VMID}")
    toolbar = operator.locator("#guest-toolbar")
    expect(toolbar.locator("#delete-form-box")).to_have_count(1)
    expect(operator.locator("#snapshot-now")).to_have_text("the current state")
    operator.locator('button[data-op="start"]').click()
    expect(operator.locator(".toast")).to_contain_text(f"Start VM {VMID} follow-me on pve1: started.")
    result = operator.locator("#action-started")
    expect(result).to_be_visible()
    assert top_of(operator, "#action-started") - bottom_of(operator, "#guest-actions") < 40, "by the button"
    assert top_of(operator, "#guest-actions") < 400, "the actions are at the top of the page"
    expect(result.locator("#task-exit")).to_have_text("OK", timeout=20000)
    # Every part of the page follows the task's end, not the 10 s poll.
    expect(operator.locator("#guest-status")).to_have_text("running", timeout=3000)
    expect(toolbar.locator('button[data-op="shutdown"]')).to_be_visible(timeout=3000)
    for gone in (
        'button[data-op="start"]',
        "#delete-form-box",
        "#template-form-box",
        "#restore-overwrite-form-box",
    ):
        expect(toolbar.locator(gone)).to_have_count(0)
    expect(operator.locator("#guest-when-stopped")).to_contain_text("shut it down first")
    expect(operator.locator("#recent-tasks")).to_contain_text("qmstart")
    expect(operator.locator("#snapshot-now")).to_have_text("the running state")


def test_a_form_opens_right_below_the_toolbar_one_at_a_time(operator: Page, stopped_vm: Any) -> None:
    operator.goto(f"/guests/{VMID}")
    snapshot, clone = operator.locator("#snapshot-form"), operator.locator("#clone-form")
    expect(snapshot).to_be_hidden()
    operator.locator("#snapshot-form-box summary").click()
    expect(snapshot).to_be_visible()
    assert (
        top_of(operator, "#snapshot-form")
        < bottom_of(operator, "#guest-toolbar")
        <= top_of(operator, "#action-result")
    ), "the form opens inside the toolbar, above where results show"
    operator.locator("#clone-form-box summary").click()
    expect(clone).to_be_visible()
    expect(snapshot).to_be_hidden()
