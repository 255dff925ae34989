"""In the browser: a running backup's log grows on the task page until TASK OK, then the page stops
asking; the storage, backup and task pages work for a viewer, also on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.backup_guests import (
    SLOW_VM,
    FakeApi,
    Made,
    add_guests,
    remove_guests,
)
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def sign_in(page: Page, username: str) -> None:
    """Fill the sign-in form as a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))


@pytest.fixture
def slow_vm(pve: DemoPve) -> Iterator[int]:
    """A VM with a 64G disk: its backup takes about a minute of PVE time, 3 s at time_scale 0.05."""
    remove_guests(pve)
    add_guests(pve)
    pve.storages["local-lvm"]["volumes"][f"vm-{SLOW_VM}-disk-0"] = {
        "content": "images",
        "format": "raw",
        "size": 64 * 1024**3,
        "vmid": SLOW_VM,
    }
    config = {"scsi0": f"local-lvm:vm-{SLOW_VM}-disk-0,size=64G", "memory": 1024}
    pve.add_vm(SLOW_VM, "slow-backup", node="pve1", status="stopped", config=config)
    pve.time_scale = 0.05
    try:
        yield SLOW_VM
    finally:
        pve.time_scale = 0
        remove_guests(pve)


def test_a_running_backup_log_updates_live_until_task_ok(
    page: Page, settings: Settings, fake_api: FakeApi, slow_vm: int
) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, make_user(settings, "viewer"))
    upid = fake_api.vzdump("pve1", slow_vm, storage="local")
    page.goto(f"/tasks/{upid}")
    detail = page.locator("#task-detail")
    expect(detail).to_have_attribute("data-state", "running")
    expect(page.locator("#task-end")).to_have_text("still running")
    first = page.locator("#task-log .log-line").count()
    expect(page.locator("#task-log")).to_contain_text("INFO:  51%", timeout=15000)
    assert page.locator("#task-log .log-line").count() > first, "the log grew without a reload"
    expect(page.locator("#task-log .log-line").last).to_have_text("TASK OK", timeout=15000)
    expect(detail).to_have_attribute("data-state", "ok")
    expect(page.locator("#task-exit")).to_have_text("OK")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/tasks/" in r.url else None)
    page.wait_for_timeout(2500)
    assert asked == [], "a stopped task's page no longer refreshes"
    assert errors == []


def test_viewer_walks_storage_backups_and_tasks(page: Page, settings: Settings, backup_guests: Made) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: errors.append(f"a dialog opened: {dialog.message}"))
    sign_in(page, make_user(settings, "viewer"))
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name="Storage").click()
    expect(page.locator('#storage-table tr[data-storage="nas-backup"] .pill-warn')).to_have_text("over 85 %")
    page.locator('#storage-table tr[data-storage="local"][data-node="pve1"] a').click()
    row = page.locator(f'#content-backup tr[data-volid="{backup_guests.local_backup}"]')
    expect(row.locator(".notes")).to_contain_text("<script>alert('notes')</script>")
    menu.get_by_role("link", name="Backups").click()
    page.get_by_label("Guest (VMID)").fill("9101")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/backups\?guest=9101"))
    expect(page.locator("#backup-table tbody tr")).to_have_count(2)
    expect(page.locator("#backup-table .guest-name").first).to_have_text("<img src=x onerror=alert(1)>")
    menu.get_by_role("link", name="Tasks").click()
    page.get_by_label("Status").select_option("error")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'#task-table tr[data-upid="{backup_guests.failed_upid}"]')).to_have_class(
        "task-error"
    )
    page.locator(f'#task-table tr[data-upid="{backup_guests.failed_upid}"] td:nth-child(3) a').click()
    expect(page.locator("#task-log .log-line").last).to_have_text("TASK ERROR: job errors")
    assert errors == []


def test_task_list_is_readable_on_a_phone(phone: Page, settings: Settings, backup_guests: Made) -> None:
    sign_in(phone, make_user(settings, "viewer"))
    phone.goto("/tasks")
    expect(phone.locator("#task-table")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways; wide tables scroll inside their frame"
