"""In the browser: an operator edits a VM's memory and cloud-init address from its page (the memory waits for a
reboot), a form made stale by someone else's change says what changed and keeps what was typed, and removing
a network device waits for another person's approval; the audit has each step with before and after."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.configure_guests import add_vm, guests_made
from tests.factories import make_user
from tests.servers import AppServer

pytestmark = pytest.mark.browser


@pytest.fixture
def edits(pve: DemoPve) -> Iterator[None]:
    """A clean 8700-8759 range."""
    yield from guests_made(pve)


@pytest.fixture
def second(browser: Browser, app_server: AppServer) -> Iterator[Page]:
    """Another person's browser, with its own cookies."""
    context = browser.new_context(base_url=app_server.url)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


def open_edit(page: Page, vmid: int) -> None:
    """The guest's page with its edit form open."""
    page.goto(f"/guests/{vmid}")
    page.locator("#guest-edit-open").click()
    expect(page.locator("#guest-edit-form")).to_be_visible()


def test_memory_and_cloud_init_address_of_a_running_vm(
    page: Page, settings: Settings, pve: DemoPve, edits: None
) -> None:
    vm = add_vm(pve, 8720)
    sign_in(page, make_user(settings, "operator"))
    open_edit(page, 8720)
    page.locator("#edit-memory").fill("4096")
    page.locator("#edit-ipconfig0").fill("ip=10.20.0.7/24,gw=10.20.0.1")
    page.locator("#edit-save").click()
    started = page.locator("#action-started")
    expect(started).to_contain_text("Change memory, ipconfig0 of VM 8720 edit8720: done.")
    expect(started).to_contain_text("memory: Proxmox keeps this pending until VM 8720 edit8720 is rebooted")
    assert vm.config["ipconfig0"] == "ip=10.20.0.7/24,gw=10.20.0.1" and vm.pending == {"memory": "4096"}
    expect(page.locator("#guest-edit-open")).to_be_visible()
    page.reload()
    pending = page.locator("#guest-pending")
    expect(pending.locator('tr[data-pending="memory"]')).to_contain_text("2048")
    expect(pending.locator('tr[data-pending="memory"]')).to_contain_text("4096")
    expect(pending.locator("#pending-reboot")).to_be_visible()
    page.goto("/audit?vmid=8720&operation=configure")
    params = page.locator("#audit-events tbody tr .params").first
    expect(params).to_contain_text('"ipconfig0":{"after":"ip=10.20.0.7/24,gw=10.20.0.1","before":"ip=dhcp"}')


def test_a_stale_form_says_what_changed_and_keeps_what_was_typed(
    page: Page, settings: Settings, pve: DemoPve, edits: None
) -> None:
    vm = add_vm(pve, 8721, status="stopped")
    sign_in(page, make_user(settings, "operator"))
    open_edit(page, 8721)
    page.locator("#edit-memory").fill("3072")
    vm.config["cores"] = 4  # someone else, in Proxmox, meanwhile
    page.locator("#edit-save").click()
    stale = page.locator("#edit-stale")
    expect(stale).to_contain_text("checksum mismatch (file change by other user?)")
    expect(stale).to_contain_text("cores: 2 → 4")
    expect(page.locator("#edit-memory")).to_have_value("3072")
    expect(page.locator("#edit-cores")).to_have_value("4")
    assert str(vm.config["memory"]) == "2048"
    page.locator("#edit-save").click()
    expect(page.locator("#action-started")).to_contain_text("Change memory of VM 8721 edit8721")
    expect(page.locator("#action-started #task-exit")).to_have_text("OK", timeout=20000)
    assert str(vm.config["memory"]) == "3072" and vm.config["cores"] == 4


def test_removing_a_network_device_is_approved_by_another_person(
    page: Page, second: Page, settings: Settings, pve: DemoPve, edits: None
) -> None:
    vm = add_vm(pve, 8722, status="stopped")
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    sign_in(page, alice)
    open_edit(page, 8722)
    page.locator("#edit-net1-remove").check()
    page.locator("#edit-reason").fill("the VLAN 20 leg is gone")
    page.locator("#edit-save").click()
    expect(page).to_have_url(re.compile(r"/approvals/\d+$"))
    expect(page.locator("#request-status")).to_have_text("pending")
    assert "net1" in vm.config

    sign_in(second, bob)
    second.goto(page.url)
    expect(second.locator("#preview-losses")).to_contain_text("Removes network device net1")
    second.locator("#approve-button").click()
    expect(second.locator("#request-status")).to_have_text("succeeded", timeout=20000)
    assert "net1" not in vm.config and "net0" in vm.config

    second.goto("/audit?vmid=8722&operation=configure")
    outcomes = second.locator("#audit-events tbody tr .outcome")
    for _ in range(20):
        if outcomes.first.inner_text() == "succeeded":
            break
        second.wait_for_timeout(250)
        second.reload()
    texts = [t.strip() for t in outcomes.all_inner_texts()]
    assert texts[:5] == ["succeeded", "started", "intent", "approved", "requested"], texts
    expect(second.locator("#audit-events tbody tr.outcome-intent .params")).to_contain_text(
        '"net1":{"after":null,"before":"virtio=BC:24:11:87:22:02'
    )
