"""Every page lays its tables out as tables on a desktop and readably on a phone, in light and dark, and the
header stays compact on a phone. The pages are the navigation of a signed-in admin (so new pages join by
themselves), plus a guest, a node, a storage and a request page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import People, add_vm, ask, people
from tests.backup_guests import FakeApi, Made, volid_of
from tests.browser.test_sign_in import sign_in
from tests.bulk_guests import add_vms, bulk_guests
from tests.factories import make_token, make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.ip_guests import cold_app
from tests.policy_app import (
    clock_of,
    freeze_ends,
    grouped_user,
    next_saturday_half_past_midnight,
    policy_text,
    ruled_app,
)
from tests.servers import AppServer

pytestmark = pytest.mark.browser
DESKTOP, PHONE = (1400, 900), (390, 844)
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
HEADER_MAX_ON_PHONE = 100
VMID = 9370

# What is wrong on the page, one line each. Tables with a header row line up with their first body row while
# shown as a table; or else, stacked on a phone (as every table.cards-on-phone must be there), keep every cell
# on the screen and label all cells if they label any. A column of row headers stays straight beside its values;
# a wide table scrolls inside a box that fits the screen; no word is broken mid-way (between two letters or
# digits of a run shorter than 20: a hash may break anywhere) in a table, a heading or the menu, except in `exempt`: JSON
# written without spaces, which has nowhere else to break; and the page is no wider than the screen.
EXEMPT = "code.params"
LAYOUT_PROBLEMS = """exempt => {
  const problems = [], width = window.innerWidth, near = (a, b) => Math.abs(a - b) <= 2;
  const px = n => Math.round(n);
  const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const text = e => e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40);
  const rowOf = e => getComputedStyle(e).display === 'table-row';
  const name = (t, i) => (t.id ? '#' + t.id : `table ${i + 1}`)
    + ((t.closest('section[id], div[id]') || {}).id ? ` in #${t.closest('section[id], div[id]').id}` : '');
  const columns = row => { let c = 0; return [...row.cells].map(cell => { const at = c; c += cell.colSpan;
    return {cell, at}; }); };
  const scroller = e => { for (let p = e.parentElement; p; p = p.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return p; } return null; };
  const brokenWords = root => {
    const found = [], walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), range = document.createRange();
    const word = /[\\p{L}\\p{N}]/u;
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      const s = node.data;
      const parent = node.parentElement;
      if (!s.trim() || parent.closest(exempt) || parent.getBoundingClientRect().width < 2) continue;
      range.selectNodeContents(node);
      if (range.getClientRects().length < 2) continue;
      let before = null;
      for (let i = 0; i < s.length; i++) {
        range.setStart(node, i); range.setEnd(node, i + 1);
        const r = range.getBoundingClientRect();
        if (!r.width) continue;
        if (before && Math.abs(r.top - before.top) > 2 && word.test(s[i - 1] || '') && word.test(s[i])) {
          let a = i - 1, b = i;
          while (a > 0 && word.test(s[a - 1])) a--;
          while (b < s.length - 1 && word.test(s[b + 1])) b++;
          if (b - a + 1 < 20) found.push(`${s.slice(a, i)}/${s.slice(i, b + 1)}`);
        }
        before = r;
      }
    }
    return found;
  };
  [...document.querySelectorAll('main table')].forEach((t, i) => {
    if (!shown(t)) return;
    const what = name(t, i), head = t.tHead && t.tHead.rows[0];
    const body = [...t.tBodies].flatMap(b => [...b.rows]).find(r => r.cells.length > 1 && shown(r));
    const tableRows = head && body && shown(head) && rowOf(head) && rowOf(body);
    if (width <= 640 && t.classList.contains('cards-on-phone') && head && shown(head))
      problems.push(`${what}: should stack on a phone, but shows its header row`);
    if (head && body && tableRows) {
      const below = columns(body);
      for (const {cell: th, at} of columns(head)) {
        const td = below.find(c => c.at === at);
        if (th.colSpan > 1 || !td || td.cell.colSpan > 1) continue;
        const h = th.getBoundingClientRect(), d = td.cell.getBoundingClientRect();
        if (!near(h.left, d.left) || !near(h.width, d.width) || h.bottom > d.top + 2)
          problems.push(`${what}, column "${text(th)}": header at x=${px(h.left)} y=${px(h.top)} w=${px(h.width)}, `
            + `first row's cell at x=${px(d.left)} y=${px(d.top)} w=${px(d.width)}`);
      }
    } else if (head && body && !shown(head)) {
      const cells = [...t.querySelectorAll('tbody td')].filter(td => shown(td) && td.colSpan === 1);
      const labelled = cells.some(td => td.dataset.label);
      for (const td of cells) {
        const r = td.getBoundingClientRect();
        if (r.left < -0.5 || r.right > width + 0.5)
          problems.push(`${what}, stacked cell "${td.dataset.label || text(td)}": x=${px(r.left)}..${px(r.right)} `
            + `is off the ${width} px screen`);
        if (labelled && !td.dataset.label) problems.push(`${what}: the stacked cell "${text(td)}" has no label`);
      }
    } else if (head && body) {
      problems.push(`${what}: its header row shows but its rows are not laid out as a table`);
    }
    const keyed = [...t.querySelectorAll('tbody > tr')].filter(r => rowOf(r) && r.cells[0] && r.cells[0].tagName === 'TH'
      && r.cells[1]);
    if (keyed.length > 1) {
      const first = keyed[0].cells[0].getBoundingClientRect();
      for (const r of keyed) {
        const k = r.cells[0].getBoundingClientRect(), v = r.cells[1].getBoundingClientRect();
        if (!near(k.left, first.left) || !near(k.width, first.width) || !near(k.top, v.top) || k.right > v.left + 1)
          problems.push(`${what}, row "${text(r.cells[0])}": key at x=${px(k.left)} y=${px(k.top)} w=${px(k.width)}, `
            + `value at x=${px(v.left)} y=${px(v.top)}`);
      }
    }
    const box = t.getBoundingClientRect(), wrap = scroller(t);
    if (box.right > width + 0.5 && !(wrap && wrap.getBoundingClientRect().right <= width + 0.5))
      problems.push(`${what}: ${px(box.width)} px wide, runs off the ${width} px screen`);
    for (const w of brokenWords(t)) problems.push(`${what}: the word "${w}" is broken mid-way`);
  });
  for (const a of document.querySelectorAll('header nav a'))
    for (const w of brokenWords(a)) problems.push(`the menu entry "${text(a)}" is broken mid-way as "${w}"`);
  const rows = new Set([...document.querySelectorAll('header nav a')].filter(shown)
    .map(a => px(a.getBoundingClientRect().top)));
  if (width >= 1200 && rows.size > 1) problems.push(`the menu takes ${rows.size} rows on a ${width} px screen`);
  for (const h of document.querySelectorAll('main h1, main h2, main h3'))
    for (const w of brokenWords(h)) problems.push(`the heading "${text(h)}" is broken mid-way as "${w}"`);
  const page = document.documentElement.scrollWidth;
  if (page > width) problems.push(`the page is ${page} px wide on a ${width} px screen`);
  return problems;
}"""


@pytest.fixture
def bulk_range(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range, for a batch's page and the bulk review form."""
    yield from bulk_guests(pve)


def bulk_pages(client: httpx.Client, crew: People, pve: DemoPve) -> list[str]:
    """A batch's page (a snapshot of two guests), the list of batches and the bulk review form of a migration."""
    vmids = add_vms(pve, [8690, 8691])
    body = {"vmids": vmids, "reason": "before the upgrade", "snapname": "layout"}
    started = client.post("/api/v1/bulk/snapshot", json=body, headers=crew.alice)
    assert started.status_code == 202, started.text
    query = "&".join(f"vmid={v}" for v in vmids)
    return [f"/batches/{started.json()['batch_id']}", "/batches", f"/guests/bulk?operation=migrate&{query}"]


def backup_of(fake_api: FakeApi, pve: DemoPve, vmid: int) -> str:
    """A backup of the guest on 'local', made through the fake's vzdump; its volume id."""
    upid = fake_api.vzdump("pve1", vmid, storage="local", **{"notes-template": "before the upgrade"})
    assert fake_api.wait(upid)["exitstatus"] == "OK"
    return volid_of(pve, "local", vmid)


def first_href(page: Page, path: str, selector: str) -> str:
    """The path the first link matching selector on this page leads to."""
    page.goto(path)
    href = page.locator(selector).first.get_attribute("href")
    assert href, f"no {selector} on {path}"
    return urlsplit(href).path


def pages_to_visit(page: Page, request_id: int) -> list[str]:
    """The admin's menu and the admin pages' tabs (the policy and the side-door report among them), then a guest (and its edit form), a node (the plan that
    empties it, its log and its templates), a storage (with backups) and a request page."""
    page.goto("/")
    menu = page.locator("header nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(menu) >= 8 and "/admin/users" in menu, menu
    page.goto("/admin/users")
    admin = page.locator("#admin-tabs a").evaluate_all("links => links.map(a => new URL(a.href).pathname)")
    assert "/admin/side-doors" in admin and "/admin/policy" in admin, admin
    node = first_href(page, "/", "#node-table tbody a")
    storage = first_href(page, "/storage", "#storage-table tbody tr:has(.chip:text-is('backup')) a")
    return [
        *menu,
        *(path for path in admin if path not in menu),
        f"/guests/{VMID}",
        f"/guests/{VMID}/edit",
        node,
        f"{node}/empty",
        f"{node}/log",
        f"{node}/appliances",
        storage,
        f"/approvals/{request_id}",
    ]


def problems_at(
    browser: Browser,
    base_url: str,
    state: Any,
    scheme: Literal["light", "dark"],
    size: tuple[int, int],
    paths: list[str],
) -> list[str]:
    """What is wrong on these pages in this color scheme and window size, each line naming page and table."""
    width, height = size
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": height},
        color_scheme=scheme,
        storage_state=state,
    )
    context.set_default_timeout(15000)
    page = context.new_page()
    where, found = f"{scheme}, {width} px", []
    try:
        for path in paths:
            page.goto(path)
            expect(page.locator("main h1")).to_be_visible()
            found += [f"{where}, {path}: {p}" for p in page.evaluate(LAYOUT_PROBLEMS, EXEMPT)]
            header = page.locator("header.topbar").bounding_box()
            assert header is not None
            if width == PHONE[0] and header["height"] >= HEADER_MAX_ON_PHONE:
                found.append(f"{where}, {path}: the header is {header['height']:.0f} px tall")
    finally:
        context.close()
    return found


def test_tables_line_up_and_nothing_overflows(
    browser: Browser,
    app_server: AppServer,
    settings: Settings,
    pve: DemoPve,
    fake_api: FakeApi,
    client: httpx.Client,
    crew: People,
    scratch: None,
    backup_guests: Made,
    bulk_range: None,
) -> None:
    # A change waiting for the next start, so the guest page shows its pending table.
    add_vm(pve, VMID).pending = {"memory": "4096"}
    archive = backup_of(fake_api, pve, VMID)
    asked = ask(client, crew.alice, VMID, "restore-overwrite", archive=archive, reason="the upgrade broke it")
    assert asked.status_code == 202, asked.text

    context = browser.new_context(
        base_url=app_server.url, viewport={"width": DESKTOP[0], "height": DESKTOP[1]}
    )
    context.set_default_timeout(15000)
    page = context.new_page()
    sign_in(page, make_user(settings, "admin"))
    expect(page.locator("header nav")).to_be_visible()
    paths = pages_to_visit(page, asked.json()["request_id"]) + bulk_pages(client, crew, pve)
    state = context.storage_state()
    context.close()

    found = [
        problem
        for scheme in SCHEMES
        for size in (DESKTOP, PHONE)
        for problem in problems_at(browser, app_server.url, state, scheme, size, paths)
    ]
    assert not found, f"{len(found)} layout problems:\n" + "\n".join(found)


def test_the_ip_inventory_read_for_the_first_time_lines_up(
    browser: Browser, served_fake: ServedFake, empty_database: str, tmp_path: Path, pve: DemoPve
) -> None:
    """/ips of a new install, its progress line showing while the guests are read (a few seconds)."""
    for suffix in ("/config", "/agent/network-get-interfaces", "/interfaces"):
        pve.stall("GET", suffix, 3.0)
    with cold_app(served_fake, empty_database, tmp_path / "data") as (server, settings):
        context = browser.new_context(base_url=server.url)
        page = context.new_page()
        sign_in(page, make_user(settings, "viewer"))
        page.goto("/ips")
        expect(page.locator("#ip-progress")).to_contain_text("guests' configurations")
        state = context.storage_state()
        context.close()
        found = [
            problem
            for scheme in SCHEMES
            for size in (DESKTOP, PHONE)
            for problem in problems_at(browser, server.url, state, scheme, size, ["/ips"])
        ]
    assert not found, f"{len(found)} layout problems:\n" + "\n".join(found)


def policy_pages(server: AppServer, pve: DemoPve) -> list[str]:
    """With a policy file: its admin page, a production guest's page (what each change needs), a request waiting
    for an approver from the dba group, one scheduled for its window, a break-glass run waiting for its review
    (on the dashboard and in the approvals list), and the audit's policy changes with their diffs."""
    settings = server.app.state.runtime.settings
    crew, clock = people(settings), clock_of(server)
    add_vm(pve, VMID).config["tags"] = "prod"
    add_vm(pve, VMID + 1).config["tags"] = "prod"
    add_vm(pve, VMID + 2).config["tags"] = "maint"
    web = {
        "Authorization": f"Bearer {make_token(settings, grouped_user(settings, 'approver', 'web'), 'approver')}"
    }
    with httpx.Client(base_url=server.url, timeout=30) as client:
        waiting = ask(client, crew.alice, VMID, "delete", reason="moved to a new host").json()["request_id"]
        approved = client.post(
            f"/api/v1/requests/{waiting}/approve", json={"confirm": str(VMID)}, headers=web
        )
        assert approved.status_code == 200, approved.text
        broken = ask(client, crew.alice, VMID + 1, "delete", reason="compromised").json()["request_id"]
        clock.offset = next_saturday_half_past_midnight() - datetime.now(UTC)
        try:
            body = {"disk": "scsi0", "size": "16G", "reason": "the database grows"}
            scheduled = ask(client, crew.alice, VMID + 2, "resize", **body).json()["request_id"]
            assert client.post(f"/api/v1/requests/{scheduled}/approve", json={}, headers=crew.bob).is_success
        finally:
            clock.offset = timedelta(0)
    with signed_in(server.url, make_user(settings, "admin")) as admin:
        ran = admin.post(f"/api/v1/requests/{broken}/break-glass", json={"reason": "it is sending spam"})
        assert ran.status_code == 200, ran.text
    return [
        "/",
        "/admin/policy",
        f"/guests/{VMID}",
        f"/approvals/{waiting}",
        f"/approvals/{scheduled}",
        f"/approvals/{broken}",
        "/approvals?status=needs-review",
        "/audit?operation=policy-change",
    ]


def test_the_policy_pages_line_up(
    browser: Browser,
    served_fake: ServedFake,
    database_url: str,
    tmp_path: Path,
    pve: DemoPve,
    scratch: None,
) -> None:
    """The pages a policy file adds to or changes, with one in force."""
    policy = tmp_path / "policy.toml"
    policy.write_text(policy_text(freeze_ends()))
    with ruled_app(served_fake, database_url, tmp_path / "data", policy) as server:
        paths = policy_pages(server, pve)
        context = browser.new_context(base_url=server.url)
        page = context.new_page()
        sign_in(page, grouped_user(server.app.state.runtime.settings, "admin", "ops"))
        expect(page.locator("header nav")).to_be_visible()
        state = context.storage_state()
        context.close()
        found = [
            problem
            for scheme in SCHEMES
            for size in (DESKTOP, PHONE)
            for problem in problems_at(browser, server.url, state, scheme, size, paths)
        ]
    assert not found, f"{len(found)} layout problems:\n" + "\n".join(found)
