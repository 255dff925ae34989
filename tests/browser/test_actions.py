"""In the browser: an operator acts on guests, watches the task end, and finds it all in the audit history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser
MINE = range(9500, 9600)


@pytest.fixture
def operator(page: Page, settings: Settings, pve: DemoPve) -> Iterator[Page]:
    """A signed-in operator; guests 9500-9599 made by the test are removed afterwards."""
    sign_in(page, make_user(settings, "operator"))
    yield page
    for guests in (pve.vms, pve.cts):
        for guest in [g for g in guests if g.vmid in MINE]:
            guests.remove(guest)


def stopped_vm(pve: DemoPve) -> Any:
    """A stopped, unlocked, non-template VM."""
    return next(
        v for v in pve.vms if v.status == "stopped" and not v.template and not v.lock and v.vmid not in MINE
    )


def task_ends_ok(page: Page) -> str:
    """Wait until the followed task shows OK; returns its UPID."""
    expect(page.locator("#action-started #task-exit")).to_have_text("OK", timeout=20000)
    href = page.locator("#action-task-link").get_attribute("href") or ""
    return href.rsplit("/tasks/", 1)[1]


def audit_shows(page: Page, vmid: int, operation: str, upid: str) -> None:
    """The audit page lists the start and, once the watcher saw it end, the task's success."""
    rows = page.locator("#audit-events tbody tr")
    for _ in range(40):
        page.goto(f"/audit?vmid={vmid}&operation={operation}")
        if "outcome-succeeded" in (rows.first.get_attribute("class") or ""):
            break
        page.wait_for_timeout(250)
    expect(rows.first).to_have_class(re.compile("outcome-succeeded"))
    expect(page.locator(f'a.upid[href$="{upid}"]').first).to_be_visible()


def test_operator_starts_a_stopped_vm(operator: Page, pve: DemoPve) -> None:
    vm = stopped_vm(pve)
    operator.goto(f"/guests/{vm.vmid}")
    expect(operator.locator("#guest-status")).to_have_text("stopped")
    operator.locator('button[data-op="start"]').click()
    upid = task_ends_ok(operator)
    assert pve.vm(vm.vmid).status == "running"
    # The page refreshes the guest as soon as its task ends, well before its 10 s poll.
    expect(operator.locator("#guest-status")).to_have_text("running", timeout=3000)
    expect(operator.locator('button[data-op="start"]')).to_have_count(0)
    audit_shows(operator, vm.vmid, "start", upid)
    pve.vm(vm.vmid).status = "stopped"


def test_operator_takes_a_snapshot_and_sees_it_in_the_tree(operator: Page, pve: DemoPve) -> None:
    vm = next(v for v in pve.vms if v.snapshots and not v.template and not v.lock)
    operator.goto(f"/guests/{vm.vmid}")
    operator.locator("#snapshot-form-box summary").click()
    operator.locator("#snapshot-form").get_by_label("Name").fill("before-upgrade")
    expect(operator.get_by_text("saving RAM freezes the guest")).to_be_visible()
    operator.get_by_role("button", name="Take snapshot").click()
    upid = task_ends_ok(operator)
    operator.reload()
    node = operator.locator('li[data-snapshot="before-upgrade"]')
    expect(node).to_be_visible()
    expect(node.locator('li[data-snapshot="current"]')).to_have_count(1)
    audit_shows(operator, vm.vmid, "snapshot", upid)


def test_operator_backs_up_and_finds_it_in_storage(operator: Page, pve: DemoPve) -> None:
    vm = next(v for v in pve.vms if v.status == "running" and not v.template and not v.lock)
    operator.goto(f"/guests/{vm.vmid}")
    operator.locator("#backup-form-box summary").click()
    operator.locator("#backup-form select[name=storage]").select_option("nas-backup")
    operator.get_by_role("button", name="Start backup").click()
    upid = task_ends_ok(operator)
    operator.goto(f"/storage/{vm.node}/nas-backup?content=backup")
    expect(operator.get_by_text(re.compile(rf"vzdump-qemu-{vm.vmid}-")).first).to_be_visible()
    audit_shows(operator, vm.vmid, "backup", upid)


def test_operator_creates_a_container_from_a_template(operator: Page, pve: DemoPve) -> None:
    operator.get_by_role("link", name="New guest").click()
    form = operator.locator("#create-ct-form")
    form.get_by_label("Hostname").fill("fresh-ct")
    form.get_by_label("IPv4 from").select_option("static")
    form.get_by_label("IPv4 address").fill("10.0.20.77/24")
    form.get_by_label("IPv4 gateway").fill("10.0.20.1")
    form.get_by_label("Root password").fill("a-root-pass")
    form.get_by_label("VMID").fill("9501")
    form.get_by_role("button", name="Create container").click()
    upid = task_ends_ok(operator)
    assert pve.ct(9501).config["hostname"] == "fresh-ct"
    audit_shows(operator, 9501, "create-ct", upid)


def test_operator_clones_a_vm(operator: Page, pve: DemoPve) -> None:
    vm = stopped_vm(pve)
    operator.goto(f"/guests/{vm.vmid}")
    operator.locator("#clone-form-box summary").click()
    form = operator.locator("#clone-form")
    form.get_by_label("New VMID").fill("9502")
    form.get_by_label("Name").fill("copy-of-it")
    form.get_by_role("button", name="Clone").click()
    # Proxmox copies the network config: the copy would have the VM's static address too.
    assert "ip=10." in str(vm.config.get("ipconfig0")), "the demo's first stopped VM has a static address"
    # The form comes back with the reason beside the confirmation it asks for, what was typed kept.
    expect(form.locator(".field-error")).to_contain_text(f"used by {vm.vmid} ({vm.name}, stopped)")
    expect(form.get_by_label("Name")).to_have_value("copy-of-it")
    assert not [v for v in pve.vms if v.vmid == 9502]
    form.get_by_label("Keep addresses another guest has").check()
    form.get_by_role("button", name="Clone").click()
    upid = task_ends_ok(operator)
    assert pve.vm(9502).name == "copy-of-it"
    audit_shows(operator, vm.vmid, "clone", upid)


def test_stop_asks_first_and_says_it_cuts_the_power(operator: Page, pve: DemoPve) -> None:
    vm = next(v for v in pve.vms if v.status == "running" and not v.template and not v.lock)
    operator.goto(f"/guests/{vm.vmid}")
    messages: list[str] = []
    operator.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    operator.locator('button[data-op="stop"]').click()
    expect(operator.locator("#guest-status")).to_have_text("running")
    assert messages and "cuts the power at once" in messages[0]
    assert pve.vm(vm.vmid).status == "running"
