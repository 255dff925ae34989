"""In the browser: an operator live-migrates a running VM from its page, watches the migration's progress
lines while it runs, sees the VM on its new node, and finds the move in the audit history."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_actions import audit_shows, task_ends_ok
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user
from tests.migrate_guests import add_vm, migration_guests

pytestmark = pytest.mark.browser
BIG_VM = 9660


@pytest.fixture
def big_vm(pve: DemoPve) -> Iterator[int]:
    """A running VM with 8 GiB of RAM on shared storage: its live migration logs progress for about 6 s."""
    for _ in migration_guests(pve):
        add_vm(pve, BIG_VM, "ceph-vm", memory=8192)
        pve.time_scale = 0.5
        try:
            yield BIG_VM
        finally:
            pve.time_scale = 0


def test_live_migrate_a_running_vm_and_watch_its_progress(
    page: Page, settings: Settings, pve: DemoPve, big_vm: int
) -> None:
    sign_in(page, make_user(settings, "operator"))
    page.goto(f"/guests/{big_vm}")
    expect(page.locator(".guest-state")).to_contain_text("on pve1")
    page.get_by_text("Migrate to another node").click()
    form = page.locator("#migrate-form")
    form.get_by_label("Target node").select_option("pve2")
    form.get_by_role("button", name="Migrate").click()

    started = page.locator("#action-started")
    expect(started).to_contain_text(f"Migrate VM {big_vm} mig{big_vm} from pve1 to pve2 live: started.")
    log = started.locator("#task-log")
    expect(log).to_contain_text(
        re.compile(r"migration active, transferred [\d.]+ [MG]iB of 8\.0 GiB VM-state")
    )
    expect(started.locator("#task-detail")).to_have_attribute("data-state", "running")
    upid = task_ends_ok(page)
    expect(log).to_contain_text("migration status: completed")
    expect(log).to_contain_text(re.compile(r"average migration speed: .* - downtime \d+ ms"))
    expect(page.locator(".guest-state")).to_contain_text("on pve2", timeout=15000)
    assert pve.vm(big_vm).node == "pve2"

    audit_shows(page, big_vm, "migrate", upid)
    rows = page.locator("#audit-events tbody tr")
    expect(rows.first).to_contain_text("moved from pve1 to pve2")
    expect(rows.nth(2)).to_contain_text("from pve1 to pve2 live")
