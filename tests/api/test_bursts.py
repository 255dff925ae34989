"""Bursts: many times the database pool at once on every kind of route, and every answer comes, none a 5xx.

A request holds at most one database connection at a time, so a burst queues briefly for the pool instead of
each request holding one connection while it waits for a second (which froze the whole app for the pool's
30 s time-out). The client gives up well before that time-out, so a freeze fails here as a time-out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import select_rows
from tests.backup_guests import remove_guests
from tests.factories import csrf_from, login, make_token, make_user, run_async
from tests.ldap_directory import PASSWORD as LDAP_PASSWORD
from tests.ldap_directory import Ldap
from tests.oidc_idp import Sso, audit_events, check_due, sign_in_at_provider
from tests.policy_app import clock_of, freeze_ends, policy_text
from tests.servers import AppServer

# Three times the pool: a small one here (the settings' pool), so the burst is big for it and quick to run.
POOL_SIZE, POOL_OVERFLOW = 3, 5
BURST = 3 * (POOL_SIZE + POOL_OVERFLOW)
# Well under the pool's own 30 s time-out: a request stuck behind it fails here as a time-out.
PATIENCE = 20.0
MINE = range(8800, 8800 + BURST)


@pytest.fixture(scope="module")
def small_pool(settings: Settings) -> Iterator[AppServer]:
    """The suite's app (same database, same keys) with a pool of POOL_SIZE + POOL_OVERFLOW connections."""
    server = AppServer(
        settings.model_copy(update={"db_pool_size": POOL_SIZE, "db_pool_overflow": POOL_OVERFLOW})
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def crowd(settings: Settings) -> dict[str, Any]:
    """An operator's and an approver's tokens, and an approver's browser session (cookies and CSRF token)."""
    operator, approver = make_user(settings, "operator"), make_user(settings, "approver")
    admin = make_user(settings, "admin")
    return {
        "operator": {"Authorization": f"Bearer {make_token(settings, operator)}"},
        "admin": {"Authorization": f"Bearer {make_token(settings, admin, 'admin')}"},
        "approver": {"Authorization": f"Bearer {make_token(settings, approver, 'approver')}"},
        "approver_name": approver,
    }


@pytest.fixture
def burst_guests(pve: DemoPve) -> Iterator[list[int]]:
    """BURST stopped VMs of their own, one per request of an action burst."""
    remove_guests(pve, MINE)
    for vmid in MINE:
        config = {"memory": 512, "cores": 1, "ostype": "l26", "net0": "virtio=BC:24:11:88:00:01,bridge=vmbr0"}
        pve.add_vm(vmid, f"burst{vmid}", node="pve1", status="stopped", config=config)
    try:
        yield list(MINE)
    finally:
        remove_guests(pve, MINE)


async def burst(base: str, calls: list[tuple[str, str, dict[str, Any]]], cookies: Any = None) -> list[int]:
    """Send every call at once; the statuses, or the failure of any that did not answer in time."""
    limits = httpx.Limits(max_connections=len(calls))
    async with httpx.AsyncClient(base_url=base, timeout=PATIENCE, limits=limits, cookies=cookies) as client:
        answers = await asyncio.gather(
            *(client.request(method, path, **options) for method, path, options in calls),
            return_exceptions=True,
        )
    late = [a for a in answers if isinstance(a, BaseException)]
    assert not late, f"{len(late)} of {len(calls)} got no answer: {late[0]!r}"
    return [a.status_code for a in answers if isinstance(a, httpx.Response)]


def no_server_error(statuses: list[int]) -> None:
    """Every answer came and none is a 5xx."""
    assert [s for s in statuses if s >= 500] == [], sorted(statuses)


def session_of(server: AppServer, username: str) -> tuple[httpx.Cookies, str]:
    """A signed-in browser session's cookies and CSRF token."""
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as client:
        assert login(client, username).status_code == 303
        return client.cookies, csrf_from(client.get("/account").text)


def test_a_burst_of_pages_answers(small_pool: AppServer, crowd: dict[str, Any]) -> None:
    """The approvals page (what a notified team opens), its badge and notices, the dashboard (and its side-door
    alerts), the guest list and the IP inventory's progress line, a node's log, its latest lines and its
    templates, and a URL looked up for a download."""
    cookies, _ = session_of(small_pool, crowd["approver_name"])
    pages = (
        "/approvals",
        "/approvals/badge",
        "/approvals/notices",
        "/",
        "/side-doors/alerts",
        "/guests",
        "/ips/progress",
        "/nodes/pve1/log",
        "/nodes/pve1/log/recent",
        "/nodes/pve1/appliances",
        "/storage/pve1/local/url-lookup?url=https://example.org/a.iso",
    )
    calls = [("GET", path, {}) for path in pages for _ in range(BURST)]
    statuses = run_async(burst(small_pool.url, calls, cookies))
    no_server_error(statuses)
    assert set(statuses) == {200}


def test_a_burst_of_api_reads_answers(small_pool: AppServer, crowd: dict[str, Any]) -> None:
    """An agent polling its requests, the guest list, a node's log and templates, and a URL's metadata."""
    head = crowd["operator"]
    paths = (
        "/api/v1/requests",
        "/api/v1/guests",
        "/api/v1/nodes/pve1/log",
        "/api/v1/nodes/pve1/appliances",
        "/api/v1/nodes/pve1/url-metadata?url=https://example.org/a.iso",
        "/api/v1/policy/check?operation=delete&vmid=100",
    )
    calls = [("GET", p, {"headers": head}) for p in paths for _ in range(BURST)]
    statuses = run_async(burst(small_pool.url, calls))
    assert set(statuses) == {200}


def test_a_burst_of_side_door_reads_answers(small_pool: AppServer, crowd: dict[str, Any]) -> None:
    """Admins opening the side-door report (its page and its API) at once: one read of Proxmox serves them; and
    the alerts waiting to be acknowledged, as an agent polls them."""
    head = crowd["admin"]
    paths = ("/api/v1/side-doors", "/api/v1/side-doors/alerts")
    calls = [("GET", p, {"headers": head}) for p in paths for _ in range(BURST)]
    statuses = run_async(burst(small_pool.url, calls))
    assert set(statuses) == {200}


def test_a_burst_of_actions_answers(
    small_pool: AppServer, crowd: dict[str, Any], burst_guests: list[int], pve: DemoPve
) -> None:
    """A snapshot of each of BURST guests at once: every one is taken."""
    head = crowd["operator"]
    calls = [
        ("POST", f"/api/v1/guests/{vmid}/actions/snapshot", {"headers": head, "json": {"snapname": "burst"}})
        for vmid in burst_guests
    ]
    statuses = run_async(burst(small_pool.url, calls))
    no_server_error(statuses)
    assert set(statuses) == {200}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all("burst" in vm.snapshots for vm in mine(pve)):
        time.sleep(0.1)
    assert sorted(vm.vmid for vm in mine(pve) if "burst" in vm.snapshots) == burst_guests


def test_a_burst_of_an_agents_refusals_answers(small_pool: AppServer, crowd: dict[str, Any]) -> None:
    """An agent calling tools that do not exist, each refusal audited: every one is recorded."""
    head = crowd["operator"]
    body = {"tool": "burst-explode", "message": "There is no tool 'burst-explode'."}
    calls = [("POST", "/api/v1/refusals", {"headers": head, "json": body}) for _ in range(BURST)]
    statuses = run_async(burst(small_pool.url, calls))
    no_server_error(statuses)
    assert set(statuses) == {200}
    with httpx.Client(base_url=small_pool.url, headers=head, timeout=30) as client:
        audit = client.get("/api/v1/audit", params={"operation": "burst-explode", "limit": 100}).json()
    assert len(audit["items"]) == BURST


def test_a_burst_of_uploads_answers(small_pool: AppServer, crowd: dict[str, Any], settings: Settings) -> None:
    """BURST uploads from a storage's page at once, each with a checksum that is not its file's: every one is
    received, refused beside its field, and its file dropped."""
    cookies, token = session_of(small_pool, crowd["approver_name"])
    form = {"csrf_token": token, "content": "iso", "checksum": "0" * 64}
    calls = [
        ("POST", "/storage/pve1/local/upload", {"data": form, "files": {"file": ("burst.iso", b"x" * 4096)}})
        for _ in range(BURST)
    ]
    statuses = run_async(burst(small_pool.url, calls, cookies))
    no_server_error(statuses)
    assert set(statuses) == {409}
    assert not list((settings.data_dir / "uploads").iterdir())


def mine(pve: DemoPve) -> list[Any]:
    """This module's guests as the fake holds them."""
    return [vm for vm in pve.vms if vm.vmid in MINE]


def test_a_burst_of_requests_and_decisions_answers(
    small_pool: AppServer, crowd: dict[str, Any], burst_guests: list[int]
) -> None:
    """BURST deletions asked at once, then decided at once (with as many approvals of requests that do not
    exist): every request is stored, every decision answered."""
    asked = [
        (
            "POST",
            f"/api/v1/guests/{vmid}/actions/delete",
            {"headers": crowd["operator"], "json": {"reason": "burst"}},
        )
        for vmid in burst_guests
    ]
    statuses = run_async(burst(small_pool.url, asked))
    no_server_error(statuses)
    assert set(statuses) == {202}
    with httpx.Client(base_url=small_pool.url, headers=crowd["operator"], timeout=30) as client:
        pending = client.get("/api/v1/requests", params={"status": "pending", "limit": 500}).json()["items"]
    ids = [r["id"] for r in pending if r["target"]["vmid"] in burst_guests]
    assert len(ids) == BURST
    decide = [
        ("POST", f"/api/v1/requests/{i}/reject", {"headers": crowd["approver"], "json": {"comment": "no"}})
        for i in ids
    ]
    missing = [
        ("POST", f"/api/v1/requests/{10**9 + i}/approve", {"headers": crowd["approver"], "json": {}})
        for i in range(BURST)
    ]
    statuses = run_async(burst(small_pool.url, decide + missing))
    no_server_error(statuses)
    assert sorted(statuses) == [200] * BURST + [404] * BURST


def test_a_burst_of_edit_forms_answers(
    small_pool: AppServer, settings: Settings, burst_guests: list[int], pve: DemoPve
) -> None:
    """BURST edit forms opened at once, then saved at once: every guest gets its new core count."""
    cookies, csrf = session_of(small_pool, make_user(settings, "operator"))
    opened = [("GET", f"/guests/{vmid}/edit", {}) for vmid in burst_guests]
    statuses = run_async(burst(small_pool.url, opened, cookies))
    assert set(statuses) == {200}
    digests = {vm.vmid: pve.qm_digest(vm) for vm in mine(pve)}
    original = '{"memory": 512, "cores": 1, "ostype": "l26", "net0": "virtio=BC:24:11:88:00:01,bridge=vmbr0"}'
    form = {"csrf_token": csrf, "original": original, "cores": "2", "memory": "512", "net0.bridge": "vmbr0"}
    saved = [
        ("POST", f"/guests/{vmid}/edit", {"data": {**form, "digest": digests[vmid]}}) for vmid in burst_guests
    ]
    statuses = run_async(burst(small_pool.url, saved, cookies))
    no_server_error(statuses)
    assert set(statuses) == {200}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(str(vm.config["cores"]) == "2" for vm in mine(pve)):
        time.sleep(0.1)
    assert sorted(vm.vmid for vm in mine(pve) if str(vm.config["cores"]) == "2") == burst_guests


def test_a_burst_of_bulk_actions_answers(
    small_pool: AppServer, crowd: dict[str, Any], burst_guests: list[int], pve: DemoPve
) -> None:
    """A bulk snapshot per guest at once (each with its Idempotency-Key), the same burst again (each answering
    its first batch), then every batch read through the API and its page, stopped, and the bulk review form
    drawn, all at once: every answer comes, and every guest's snapshot is taken unless the stop came before its
    turn."""
    head = crowd["operator"]
    body = {"snapname": "bulkburst", "reason": "burst"}
    asked = [
        (
            "POST",
            "/api/v1/bulk/snapshot",
            {"headers": {**head, "Idempotency-Key": f"burst-{vmid}"}, "json": {**body, "vmids": [vmid]}},
        )
        for vmid in burst_guests
    ]
    for _ in range(2):
        statuses = run_async(burst(small_pool.url, asked))
        no_server_error(statuses)
        assert set(statuses) == {202}
    with httpx.Client(base_url=small_pool.url, headers=head, timeout=30) as client:
        batches = client.get("/api/v1/bulk", params={"limit": 100}).json()["items"]
    ids = [b["batch_id"] for b in batches if b["items"][0]["vmid"] in burst_guests]
    assert len(ids) == BURST, "the repeated burst made no second batch"
    cookies, _ = session_of(small_pool, crowd["approver_name"])
    reads = [
        *(("GET", f"/api/v1/bulk/{i}", {"headers": head}) for i in ids),
        *(("POST", f"/api/v1/bulk/{i}/stop", {"headers": head}) for i in ids),
        *(("GET", f"/batches/{i}", {}) for i in ids),
        *(("GET", "/batches", {}) for _ in ids),
        *(("GET", f"/guests/bulk?operation=snapshot&vmid={vmid}", {}) for vmid in burst_guests),
        *(("GET", "/api/v1/bulk", {"headers": head}) for _ in ids),
    ]
    statuses = run_async(burst(small_pool.url, reads, cookies))
    no_server_error(statuses)
    assert set(statuses) <= {200, 409}, "a stop answers 409 once its batch has ended"
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=small_pool.url, headers=head, timeout=30) as client:
        while True:
            ended = [client.get(f"/api/v1/bulk/{i}").json() for i in ids]
            if all(b["status"] in ("done", "stopped") for b in ended) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    ran = sorted(b["items"][0]["vmid"] for b in ended if b["items"][0]["status"] != "skipped")
    assert [b["items"][0]["status"] for b in ended if b["items"][0]["vmid"] in ran] == ["succeeded"] * len(
        ran
    )
    assert sorted(vm.vmid for vm in mine(pve) if "bulkburst" in vm.snapshots) == ran


def test_a_burst_of_node_maintenance_answers(small_pool: AppServer, crowd: dict[str, Any]) -> None:
    """The node page's maintenance card (its recent empty-node batches), and asking to empty a node that does
    not exist: every card answers, every refusal is recorded."""
    cookies, _ = session_of(small_pool, crowd["approver_name"])
    cards = [("GET", "/nodes/pve2/maintenance", {"headers": {"HX-Request": "true"}}) for _ in range(BURST)]
    statuses = run_async(burst(small_pool.url, cards, cookies))
    assert set(statuses) == {200}
    head, body = crowd["operator"], {"reason": "burst"}
    refused = [
        ("POST", "/api/v1/nodes/burst-node/actions/empty-node", {"headers": head, "json": body})
        for _ in range(BURST)
    ]
    statuses = run_async(burst(small_pool.url, refused))
    no_server_error(statuses)
    assert set(statuses) == {422}
    with httpx.Client(base_url=small_pool.url, headers=head, timeout=30) as client:
        query = {"operation": "empty-node", "q": "burst-node", "limit": 100}
        audit = client.get("/api/v1/audit", params=query).json()
    assert len(audit["items"]) == BURST


def test_a_burst_of_single_sign_on_answers(sso: Sso) -> None:
    """Sign-ins started at once, forged answers refused at once, and a session whose provider check is due
    asking the provider once however many of its requests come together."""
    starts = run_async(burst(sso.app.url, [("GET", "/login/sso", {})] * BURST))
    assert set(starts) == {303}
    forged = [("GET", "/login/sso/callback?code=x&state=y", {})] * BURST
    assert set(run_async(burst(sso.app.url, forged))) == {401}
    name = sso.person(["proxmox-admins"])
    with httpx.Client(follow_redirects=False, timeout=30) as http:
        sign_in_at_provider(http, sso.app.url, name)
        sso.regroup(name, ["ops"])
        check_due(sso.settings, http.cookies["proxgate_session"])
        pages = run_async(burst(sso.app.url, [("GET", "/account", {})] * BURST, http.cookies))
    assert set(pages) == {200}
    assert len(audit_events(sso.settings, "sso.role_changed", name)) == 1


def test_a_burst_of_ldap_sign_ins_answers(ldap: Ldap) -> None:
    """Sign-ins against the directory at once on a small pool (none holds a connection while the directory
    answers), and a session whose directory check is due asking the directory once however many of its requests
    come together."""
    app = AppServer(
        ldap.settings.model_copy(update={"db_pool_size": POOL_SIZE, "db_pool_overflow": POOL_OVERFLOW})
    )
    try:
        people = [ldap.directory.person(["ops"]) for _ in range(BURST)]
        with httpx.Client(base_url=app.url, timeout=30) as client:
            token = csrf_from(client.get("/login").text)
            cookies = client.cookies
        forms = [
            ("POST", "/login", {"data": {"username": name, "password": LDAP_PASSWORD, "csrf_token": token}})
            for name in people
        ]
        assert set(run_async(burst(app.url, forms, cookies))) == {303}
        assert all(audit_events(ldap.settings, "ldap.sign_in", name) for name in people)
        name = ldap.directory.person(["proxmox-admins"])
        with httpx.Client(base_url=app.url, follow_redirects=False, timeout=30) as http:
            assert login(http, name, LDAP_PASSWORD).status_code == 303
            ldap.directory.leave(name, ["proxmox-admins"])
            ldap.directory.join(name, ["ops"])
            check_due(ldap.settings, http.cookies["proxgate_session"])
            pages = run_async(burst(app.url, [("GET", "/account", {})] * BURST, http.cookies))
        assert set(pages) == {200}
        assert len(audit_events(ldap.settings, "ldap.role_changed", name)) == 1
    finally:
        app.stop()


@pytest.fixture(scope="module")
def ruled_pool(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AppServer, Path]]:
    """The small-pool app reading a policy file, and the file."""
    policy = tmp_path_factory.mktemp("burst-policy") / "policy.toml"
    policy.write_text(policy_text(freeze_ends()))
    server = AppServer(
        settings.model_copy(
            update={"db_pool_size": POOL_SIZE, "db_pool_overflow": POOL_OVERFLOW, "policy_file": policy}
        )
    )
    yield server, policy
    server.stop()


def test_a_burst_of_policy_pages_answers_and_audits_a_change_once(
    ruled_pool: tuple[AppServer, Path], crowd: dict[str, Any], settings: Settings
) -> None:
    """Admins opening the policy page, approvers the break-glass runs due for review and agents asking the
    policy check, all at once just after the file changed: every answer comes, and the change is audited once."""
    server, policy = ruled_pool
    admin, approver = (
        session_of(server, make_user(settings, "admin")),
        session_of(server, crowd["approver_name"]),
    )
    policy.write_text(policy.read_text().replace("approvals = 2", "approvals = 3"))
    clock_of(server).move(timedelta(seconds=5))  # past the few seconds between looks at the file
    check = "/api/v1/policy/check?operation=delete&vmid=100"
    statuses = run_async(burst(server.url, [("GET", "/admin/policy", {})] * BURST, admin[0]))
    statuses += run_async(
        burst(server.url, [("GET", "/approvals?status=needs-review", {})] * BURST, approver[0])
    )
    statuses += run_async(burst(server.url, [("GET", check, {"headers": crowd["operator"]})] * BURST))
    assert set(statuses) == {200}
    changes = audit_events(settings, "policy-change", str(policy))
    assert [c["outcome"] for c in changes] == ["succeeded", "succeeded"]  # the first version, then this one
    assert "+approvals = 3" in changes[-1]["params"]["diff"]


def test_a_burst_of_break_glass_reviews_records_one(
    ruled_pool: tuple[AppServer, Path], crowd: dict[str, Any], settings: Settings, burst_guests: list[int]
) -> None:
    """An admin breaks the glass from the request page, then one approver's review form is sent many times at
    once: one review is recorded, every other answer says it was reviewed already."""
    server, _ = ruled_pool
    vmid = burst_guests[0]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        asked = client.post(
            f"/api/v1/guests/{vmid}/actions/delete", json={"reason": "burst"}, headers=crowd["operator"]
        )
        assert asked.status_code == 202, asked.text
        rid = asked.json()["request_id"]
        cookies, csrf = session_of(server, make_user(settings, "admin"))
        client.cookies = cookies
        ran = client.post(f"/approvals/{rid}/break-glass", data={"csrf_token": csrf, "reason": "burst"})
        assert ran.status_code == 303, ran.text
    cookies, csrf = session_of(server, crowd["approver_name"])
    form = {"csrf_token": csrf, "comment": "seen"}
    statuses = run_async(
        burst(server.url, [("POST", f"/approvals/{rid}/review", {"data": form})] * BURST, cookies)
    )
    no_server_error(statuses)
    assert sorted(statuses) == [303] + [409] * (BURST - 1)
    outcomes = select_rows(settings, "SELECT outcome FROM audit_events WHERE approval_id = :rid", rid=rid)
    assert [o for (o,) in outcomes if o == "reviewed"] == ["reviewed"]
