"""In the browser: hostile text from Proxmox (guest names, tags, notes, snapshots, backup notes, task logs, error
messages) and from people (token names, usernames, approval reasons and comments, filters, searches) is shown
as text on every page, never run: no dialog opens, no element or handler is made from it, and the CSP allows
no inline script."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import httpx
import pytest
from playwright.sync_api import Dialog, Page, Response, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import ask, people
from tests.backup_guests import FakeApi, remove_guests
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user
from tests.servers import AppServer

pytestmark = pytest.mark.browser

MY_RANGE = range(9900, 9950)
VM, ASKED, REJECTED, MISSING = 9901, 9902, 9903, 9949
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"><script>alert(2)</script>'
BREAKS = "</textarea></title><svg onload=alert(3)>{{7*7}}"
JS_URL = "javascript:alert(4)"
# Elements or attributes that only exist if a payload was parsed as markup rather than shown as text.
INJECTED = "[onerror], [onload], img[src='x'], script:not([src]), a[href^='javascript:']"


def hostile(label: str) -> str:
    """A payload that says where it was put (so each place is checked on its own)."""
    return f"xss-{label} {IMG}{SCRIPT}{BREAKS} {JS_URL}"


NAME, NOTES, SNAP_DESC = hostile("name"), hostile("notes"), hostile("snapdesc")
# vzdump refuses {{...}} in a notes-template unless it names one of its variables.
BACKUP_NOTES = hostile("backup").replace("{{7*7}}", "")
LOG_LINE, PVE_ERROR, EXIT = hostile("tasklog"), hostile("pve-error"), hostile("exit")
REASON, COMMENT, QUERY = hostile("reason"), hostile("comment"), hostile("query")
TAG, SNAP_NAME = "xss-tag<svg/onload=alert(5)>", "xss-snap<img src=x onerror=alert(6)>"
FORM_NAME = "x<img src=x onerror=alert(7)>"
TOKEN_NAME, USERNAME = f"xss-token{IMG}{SCRIPT}", f"xss{IMG}"


@dataclass
class Planted:
    """What the fixture put into the fake and the database: a backup, a failed task and the two requests."""

    backup_upid: str
    failed_upid: str
    asked: int
    rejected: int


@pytest.fixture
def planted(pve: DemoPve, fake_api: FakeApi, settings: Settings, app_server: AppServer) -> Iterator[Planted]:
    """VM 9901 with hostile name, tags, notes, snapshots, backup and task log; a failed task with a hostile exit
    status; requests with a hostile reason and a hostile rejection comment. Guests and the pending request go."""
    remove_guests(pve, MY_RANGE)
    config = {"memory": 512, "cores": 1, "description": NOTES, "tags": TAG}
    vm = pve.add_vm(VM, NAME, node="pve1", status="stopped", config=config)
    for vmid in (ASKED, REJECTED):
        pve.add_vm(vmid, f"xss-{vmid}", node="pve1", status="stopped", config={"memory": 512})
    crew = people(settings)
    with httpx.Client(base_url=app_server.url, timeout=30) as client:
        try:
            status, _ = fake_api.run(
                "POST",
                f"/nodes/pve1/qemu/{VM}/snapshot",
                data={"snapname": "plain", "description": SNAP_DESC},
            )
            assert status["exitstatus"] == "OK", status
            # PVE allows only [A-Za-z][A-Za-z0-9_-]* as a snapshot name; the fake is told one directly.
            vm.snapshots[SNAP_NAME] = {"snaptime": int(time.time()), "description": "", "parent": "plain"}
            upid = fake_api.vzdump("pve1", VM, storage="local", **{"notes-template": BACKUP_NOTES})
            assert fake_api.wait(upid)["exitstatus"] == "OK"
            pve.tasks[upid]["log"].insert(0, LOG_LINE)
            failed = fake_api.vzdump("pve1", MISSING, storage="local")
            assert fake_api.wait(failed)["exitstatus"] != "OK"
            pve.tasks[failed].update(exitstatus=EXIT)
            pve.tasks[failed]["log"][-1] = f"TASK ERROR: {EXIT}"
            asked = ask(client, crew.alice, ASKED, "delete", reason=REASON).json()["request_id"]
            rejected = ask(client, crew.alice, REJECTED, "delete", reason="xss-plain").json()["request_id"]
            answer = client.post(
                f"/api/v1/requests/{rejected}/reject", json={"comment": COMMENT}, headers=crew.bob
            )
            assert answer.status_code == 200, answer.text
            time.sleep(0.6)  # the app caches /cluster/resources and the backup scan for 0.5 s in the tests
            yield Planted(upid, failed, asked, rejected)
        finally:
            client.post(f"/api/v1/requests/{asked}/cancel", json={}, headers=crew.alice)
            remove_guests(pve, MY_RANGE)


class Visitor:
    """A signed-in tab that fails on any dialog, any element made from a payload, and an inline-script CSP."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type} {dialog.message!r} on {self.page.url}")
        dialog.dismiss()

    def visit(self, path: str, *shown: str) -> Response:
        """Open the page, wait for its HTMX fragments, and check it shows each of `shown` as text."""
        answer = self.page.goto(path)
        assert answer is not None and answer.status < 500, (path, answer and answer.status)
        self.page.wait_for_load_state("networkidle")
        script_src = csp_directive(answer.headers.get("content-security-policy", ""), "script-src")
        assert script_src and "'unsafe-inline'" not in script_src, (path, script_src)
        for text in shown:
            expect(self.page.get_by_text(text, exact=False).filter(visible=True).first).to_be_visible()
        self.check(path)
        return answer

    def check(self, where: str) -> None:
        """No dialog opened and nothing of a payload became markup."""
        assert self.dialogs == [], self.dialogs
        made = self.page.locator(INJECTED).evaluate_all("els => els.map(e => e.outerHTML.slice(0, 120))")
        assert made == [], f"{where}: markup made from a payload: {made}"
        assert "49" not in self.page.locator("body").inner_text().split(), (
            f"{where}: {{{{7*7}}}} was evaluated"
        )


def csp_directive(policy: str, name: str) -> str | None:
    """The value of one directive of a Content-Security-Policy (script-src falls back to default-src)."""
    parts = {p.strip().split(" ", 1)[0]: p.strip() for p in policy.split(";") if p.strip()}
    return parts.get(name) or parts.get("default-src")


def test_hostile_text_from_proxmox_and_people_is_shown_never_run(
    page: Page, settings: Settings, pve: DemoPve, planted: Planted
) -> None:
    admin = make_user(settings, "admin")
    sign_in(page, admin)
    tab = Visitor(page)

    page.goto("/account")
    page.get_by_label("Token name").fill(TOKEN_NAME)
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    tab.check("a token with a hostile name")
    page.goto("/admin/users")
    form = page.locator("#user-create")
    form.get_by_label("Username").fill(USERNAME)
    form.get_by_label("Password").fill("a long enough password")
    form.get_by_role("button", name="Add user").click()
    expect(page.locator("#user-create-error")).to_be_visible()
    expect(page.locator("#user-create").get_by_label("Username")).to_have_value(USERNAME)
    tab.check("a user with a hostile name")

    tab.visit("/")
    pve.fail("GET", "/cluster/resources", 500, PVE_ERROR)
    time.sleep(0.6)  # past the resources cache
    tab.visit("/", PVE_ERROR)
    pve.failures.clear()
    time.sleep(0.6)
    tab.visit("/guests?" + urlencode({"q": "xss-name"}), NAME, TAG)
    tab.visit("/guests?" + urlencode({"q": QUERY}))
    expect(page.locator("#guest-q")).to_have_value(QUERY)
    tab.visit("/search?" + urlencode({"q": QUERY}))
    tab.visit(f"/guests/{VM}", NAME, TAG, NOTES, SNAP_NAME, SNAP_DESC, BACKUP_NOTES)
    name = page.locator("#snapshot-form input[name=snapname]")
    page.locator("#snapshot-form-box summary").click()
    name.evaluate("input => input.removeAttribute('pattern')")
    name.fill(FORM_NAME)
    page.get_by_role("button", name="Take snapshot").click()
    expect(page.locator("#snapshot-form-snapname-error")).to_contain_text("Use 2–40 characters")
    expect(name).to_have_value(FORM_NAME)
    tab.check("a snapshot form with a hostile name")
    tab.visit("/backups", BACKUP_NOTES)
    tab.visit("/tasks", NAME, EXIT)
    tab.visit(f"/tasks/{planted.backup_upid}", LOG_LINE)
    tab.visit(f"/tasks/{planted.failed_upid}", EXIT)
    tab.visit("/tasks/" + quote(QUERY, safe=""))
    tab.visit("/storage")
    tab.visit("/storage/pve1/local", BACKUP_NOTES)
    pve.fail("GET", "/nodes/pve1/status", 500, PVE_ERROR)
    tab.visit("/nodes/pve1", PVE_ERROR)
    pve.failures.clear()
    tab.visit("/approvals", REASON)
    tab.visit(f"/approvals/{planted.asked}", REASON)
    tab.visit(f"/approvals/{planted.rejected}", COMMENT)
    tab.visit("/audit", COMMENT)
    tab.visit("/audit?" + urlencode({"q": QUERY, "actor": "xss"}))
    expect(page.locator("#audit-filters input[name=q]")).to_have_value(QUERY)
    tab.visit("/admin/users", TOKEN_NAME)
    tab.visit("/account", TOKEN_NAME)
    tab.visit("/no-such-page/" + quote(QUERY, safe=""))
