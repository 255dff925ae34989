"""In the browser, the guest page's snapshot form: a name the guest has is refused beside the field, with the
focus in it; a snapshot taken leaves a fresh name in the form, so the next click is not refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser

# Opens the form wherever the page keeps it (a <details> that may be closed).
OPEN = "form => { const box = form.closest('details'); if (box) { box.open = true; } }"


def test_a_used_snapshot_name_is_refused_beside_the_field_and_a_taken_one_is_replaced(
    page: Page, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9368, status="running")
    vm.snapshots["nightly"] = {"snaptime": 1700000000, "description": "", "snapstate": None}
    sign_in(page, make_user(settings, "operator"))
    page.goto("/guests/9368")
    form = page.locator("#snapshot-form")
    form.evaluate(OPEN)
    name = form.locator("input[name=snapname]")
    proposed = name.input_value()
    assert proposed.startswith("snap-")

    name.fill("nightly")
    form.locator("input[name=description]").fill("before the upgrade")
    form.get_by_role("button", name="Take snapshot").click()
    expect(page.locator("#snapshot-form-snapname-error")).to_have_text(
        "VM 9368 appr9368 already has a snapshot named 'nightly'."
    )
    expect(name).to_be_focused()
    expect(name).to_have_value("nightly")
    expect(form.locator("input[name=description]")).to_have_value("before the upgrade")
    expect(page.locator("#toasts .toast-error")).to_have_count(0)

    name.fill(proposed)
    form.get_by_role("button", name="Take snapshot").click()
    expect(page.locator("#action-started")).to_contain_text(f"Take snapshot '{proposed}'")
    expect(name).not_to_have_value(proposed)
    expect(page.locator("#snapshot-form-snapname-error")).to_have_count(0)
    fresh = name.input_value()
    assert fresh.startswith("snap-") and fresh not in vm.snapshots
    form.get_by_role("button", name="Take snapshot").click()
    expect(page.locator("#action-started")).to_contain_text(f"Take snapshot '{fresh}'")
    assert {proposed, fresh} <= set(vm.snapshots)
