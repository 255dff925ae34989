"""Who may call what: every mounted route, tried anonymously, as each role and with lower-role API tokens."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from fastapi import FastAPI

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm
from tests.backup_guests import Made
from tests.factories import PASSWORD, make_token, make_user, signed_in
from tests.security.callers import (
    Caller,
    anonymous,
    everyone,
    make_people,
    pending_bulk_deletion,
    pending_deletion,
)
from tests.security.routes import (
    RULES,
    SESSION_ENDING,
    allowed,
    mounted_routes,
    rule_problems,
    wants_json,
)
from tests.security.store import token_id, user_id, user_role
from tests.servers import AppServer

REQUEST_VMID = 9391


def test_every_mounted_route_has_one_rule(app_server: AppServer) -> None:
    problems = rule_problems(mounted_routes(app_server.app))
    assert not problems, "\n".join(problems)


def test_a_route_without_a_rule_is_named() -> None:
    app = FastAPI()
    app.get("/new/{thing}")(lambda thing: thing)
    assert "GET /new/{thing} has no rule in tests/security/routes.py RULES" in rule_problems(
        mounted_routes(app)
    )


def fill(method: str, path: str, samples: dict[str, str], caller: Caller) -> str:
    """The path with real values: a guest operation under a guest, else a cluster one; one's own token."""
    values = {**samples, "operation": "backup" if "{vmid}" in path else "create-ct"}
    if path.startswith("/account/") and caller.spare_token_id is not None:
        values["token_id"] = str(caller.spare_token_id)
    query = RULES[(method, path)].query
    filled = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    return f"{filled}?{query}" if query else filled


def call(caller: Caller, method: str, path: str, url: str, samples: dict[str, str]) -> httpx.Response:
    """One request as the caller; routes that end a session get a session (or client) of their own."""
    body = RULES[(method, path)].body
    if (method, path) not in SESSION_ENDING:
        sent = {"json": body} if path.startswith("/api/v1/") else {"data": body}
        return caller.http.request(method, url, **sent) if method != "GET" else caller.http.get(url)
    base = str(caller.http.base_url).rstrip("/")
    name = caller.username if caller.role else samples["bystander"]
    with signed_in(base, name) if caller.role else anonymous(base) as http:
        return http.post(url, data={"username": name, "password": PASSWORD})


def verdict(
    caller: Caller, method: str, path: str, url: str, answer: httpx.Response, requester: str
) -> str | None:
    """What is wrong with the answer, or None."""
    rule, got = RULES[(method, path)], answer.status_code
    where = f"{method} {url} as {caller.label}: got {got}"
    to_login = got == 303 and answer.headers["location"].startswith("/login?next=")
    signed_out = caller.role is None or (caller.token and not path.startswith("/api/v1/"))
    if allowed(rule, None if signed_out else caller.role, caller.username, requester):
        return None if got in rule.ok and not to_login else f"{where}, expected one of {rule.ok}"
    if signed_out and wants_json(path):
        return None if got == 401 else f"{where}, expected 401"
    if signed_out:
        expected = "/login?next=" + quote(url)
        return (
            None
            if to_login and answer.headers["location"] == expected
            else f"{where}, expected 303 to {expected}"
        )
    return None if got == 403 else f"{where}, expected exactly 403"


def sample_values(base_url: str, settings: Settings, pve: DemoPve, made: Made, asker: str) -> dict[str, str]:
    """Real values for every path parameter: a seeded guest, its node, a task, a pending request..."""
    bystander = make_user(settings, "viewer")
    vm = next(v for v in pve.vms if v.vmid < 9000)
    add_vm(pve, REQUEST_VMID)
    request_id = pending_deletion(base_url, asker, REQUEST_VMID, "matrix")
    batch_id, batch_request = pending_bulk_deletion(base_url, asker, REQUEST_VMID, "matrix")
    return {
        "batch_id": batch_id,
        "batch_request": batch_request,
        "vmid": str(vm.vmid),
        "node": vm.node,
        "storage": "local",
        "alert_id": "1",
        "upid": made.backup_upid,
        "request_id": request_id,
        "user_id": str(user_id(settings, bystander)),
        "token_id": str(token_id(settings, make_token(settings, bystander))),
        "bystander": bystander,
    }


def test_every_route_answers_each_caller_as_its_rule_says(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None, backup_guests: Made
) -> None:
    people = make_people(settings)
    asker = make_token(settings, people["operator"])
    samples = sample_values(app_server.url, settings, pve, backup_guests, asker)
    problems, tried = [], 0
    try:
        with everyone(app_server.url, settings, people) as callers:
            for method, path in mounted_routes(app_server.app):
                for caller in callers:
                    if caller.token and not path.startswith("/api/v1/"):
                        continue  # tokens are for the API; test_tokens_do_not_open_pages covers the rest
                    url = fill(method, path, samples, caller)
                    answer = call(caller, method, path, url, samples)
                    problems.append(verdict(caller, method, path, url, answer, people["operator"]))
                    tried += 1
    finally:
        with httpx.Client(base_url=app_server.url, timeout=30) as http:
            for request_id in (samples["request_id"], samples["batch_request"]):
                http.post(
                    f"/api/v1/requests/{request_id}/cancel", headers={"Authorization": f"Bearer {asker}"}
                )
    failures = [p for p in problems if p]
    assert not failures, f"{len(failures)} of {tried} answers were wrong:\n" + "\n".join(failures)
    assert tried > 300
    assert user_role(settings, samples["bystander"]) == "viewer"
    assert pve.vm(REQUEST_VMID) is not None and pve.vm(int(samples["vmid"])) is not None


def test_tokens_do_not_open_pages(client: httpx.Client, settings: Settings) -> None:
    admin = make_user(settings, "admin")
    client.headers["Authorization"] = f"Bearer {make_token(settings, admin)}"
    answer = client.get("/admin/users")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/admin/users"
