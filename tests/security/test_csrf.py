"""CSRF: a signed-in session must send its token on every state-changing route (walked from the router), and
nothing changes without it; a bearer token (the API) needs none."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm
from tests.factories import PASSWORD, csrf_from, login, make_token, make_user, signed_in, unique_name
from tests.security.callers import pending_bulk_deletion, pending_deletion
from tests.security.routes import REQUESTER, RULES, change_routes
from tests.security.store import token_id, user_id, user_role
from tests.servers import AppServer

ASKED_BY_OPERATOR, ASKED_BY_ADMIN, STOPPED, NEW_VM, TOKEN_ASKED = 9394, 9395, 9396, 9397, 9398
# What each change would do if the token were not checked: every effect is looked for afterwards.
WOULD_CHANGE: dict[str, dict[str, object]] = {
    "/login": {"username": "{admin}", "password": PASSWORD},
    "/logout": {},
    "/account/password": {"current": PASSWORD, "new": "a brand new password 1"},
    "/account/tokens": {"name": "{new_token}"},
    "/account/tokens/{token_id}/revoke": {},
    "/admin/users": {"username": "{new_user}", "password": PASSWORD, "role": "admin"},
    "/admin/users/{user_id}": {"role": "admin"},
    "/admin/tokens/{token_id}/revoke": {},
    "/approvals/notices/seen": {},
    "/approvals/{request_id}/approve": {"confirm": str(ASKED_BY_OPERATOR), "comment": "csrf"},
    "/approvals/{request_id}/reject": {"comment": "csrf"},
    "/approvals/{request_id}/break-glass": {"reason": "csrf"},
    "/approvals/{request_id}/review": {"comment": "csrf"},
    "/approvals/{request_id}/cancel": {},
    "/approvals/{request_id}/again": {},
    "/guests/{vmid}/actions/{operation}": {},
    "/refusals": {"tool": "csrf-probe", "message": "an audit event in someone else's name"},
    "/nodes/{node}/empty": {"reason": "csrf"},
    "/nodes/{node}/actions/empty-node": {"reason": "csrf"},
    "/nodes/{node}/bring-back": {"batch_id": "csrf"},
    "/nodes/{node}/actions/bring-back": {"batch_id": "csrf"},
    "/guests/bulk": {"operation": "start", "vmid": "{vmid}", "reason": "csrf"},
    "/bulk/{operation}": {"vmids": [STOPPED], "reason": "csrf"},
    "/batches/{batch_id}/stop": {},
    "/side-doors/alerts/{alert_id}/acknowledge": {"comment": "acknowledged by a forged form"},
    "/bulk/{batch_id}/stop": {},
    "/storage/{node}/{storage}/upload": {"content": "iso", "filename": "csrf.iso"},
    "/provision/{operation}": {
        "node": "pve1",
        "vmid": str(NEW_VM),
        "name": "csrf",
        "disk_storage": "local-lvm",
    },
}


def cancel(base_url: str, token: str, request_id: str) -> None:
    """Take a request back, so no other test finds it pending (a second cancel answers 409, also fine)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        http.post(f"/api/v1/requests/{request_id}/cancel", headers={"Authorization": f"Bearer {token}"})


def would_change(path: str, values: dict[str, str]) -> dict[str, object]:
    """The body for a route (its /api/v1 twin sends the same as the page)."""
    key = (
        path.removeprefix("/api/v1")
        .replace("/requests/", "/approvals/")
        .replace("/actions/{", "/provision/{")
    )
    key = "/guests/{vmid}/actions/{operation}" if "{vmid}" in path else key
    if key not in WOULD_CHANGE:
        raise AssertionError(f"{path} has no entry in WOULD_CHANGE: say what it would change")
    return {k: v.format(**values) if isinstance(v, str) else v for k, v in WOULD_CHANGE[key].items()}


def fill(path: str, values: dict[str, str]) -> str:
    """The path with the values for its parameters (a cancel or an ask-again concerns the admin's own request)."""
    own = path.endswith(("/cancel", "/again"))
    chosen = {**values, "request_id": values["own_request" if own else "request_id"]}
    chosen["token_id"] = values["own_token" if path.startswith("/account/") else "token_id"]
    return substitute(path, chosen)


def substitute(path: str, values: dict[str, str]) -> str:
    """The path with each {parameter} replaced by its value."""
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def targets(base_url: str, settings: Settings, pve: DemoPve) -> dict[str, str]:
    """An admin, their token and request, a bystander with a token, another's request, a stopped guest."""
    admin, operator, bystander = (make_user(settings, r) for r in ("admin", "operator", "viewer"))
    for vmid in (ASKED_BY_OPERATOR, ASKED_BY_ADMIN, STOPPED):
        add_vm(pve, vmid)
    own_token, their_token, asker = (make_token(settings, n) for n in (admin, bystander, operator))
    return {
        "admin": admin,
        "bystander": bystander,
        "new_token": unique_name("csrftoken"),
        "new_user": unique_name("csrfuser"),
        "request_id": pending_deletion(base_url, asker, ASKED_BY_OPERATOR, "csrf"),
        "own_request": pending_deletion(base_url, own_token, ASKED_BY_ADMIN, "csrf"),
        "asker": asker,
        "own_secret": own_token,
        "their_secret": their_token,
        "own_token": str(token_id(settings, own_token)),
        "token_id": str(token_id(settings, their_token)),
        "user_id": str(user_id(settings, bystander)),
        "vmid": str(STOPPED),
        "node": "pve1",
        # Refused for the missing token before it is looked up.
        "batch_id": "nosuchbatch",
        "storage": "local",
        "alert_id": "1",
    }


def send_without_token(session: httpx.Client, app: FastAPI, values: dict[str, str]) -> list[str]:
    """Every change route with a body that would change something; what was not refused with 403."""
    wrong = []
    for method, path in change_routes(app):
        url = fill(path, {**values, "operation": "start" if "{vmid}" in path else "create-vm"})
        body = would_change(path, values)
        answer = session.request(
            method, url, **({"json": body} if path.startswith("/api/") else {"data": body})
        )
        if answer.status_code != 403 or "proxgate_session" in answer.cookies:
            wrong.append(f"{method} {url}: got {answer.status_code} without the CSRF token")
    return wrong


def test_a_session_without_its_csrf_token_changes_nothing(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    values = targets(app_server.url, settings, pve)
    try:
        with signed_in(app_server.url, values["admin"]) as session:
            del session.headers["X-CSRF-Token"]
            wrong = send_without_token(session, app_server.app, values)
            assert not wrong, "\n".join(wrong)
            account = session.get("/account")
            assert account.status_code == 200, "the session ended: sign-out or a password change went through"
            assert values["new_token"] not in account.text
            assert values["new_user"] not in session.get("/admin/users").text
        assert user_role(settings, values["bystander"]) == "viewer"
        with httpx.Client(base_url=app_server.url, timeout=30) as api:
            api.headers["Authorization"] = f"Bearer {values['own_secret']}"
            for request_id in (values["request_id"], values["own_request"]):
                assert api.get(f"/api/v1/requests/{request_id}").json()["status"] == "pending"
            api.headers["Authorization"] = f"Bearer {values['their_secret']}"
            assert api.get("/api/v1/me").status_code == 200
        assert pve.vm(ASKED_BY_OPERATOR) is not None and pve.vm(ASKED_BY_ADMIN) is not None
        assert pve.vm(STOPPED).status == "stopped" and pve.vm(NEW_VM) is None
    finally:
        cancel(app_server.url, values["asker"], values["request_id"])
        cancel(app_server.url, values["own_secret"], values["own_request"])


def test_bearer_tokens_need_no_csrf_token(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    admin, operator = make_user(settings, "admin"), make_user(settings, "operator")
    add_vm(pve, TOKEN_ASKED)
    asker, token = make_token(settings, operator), make_token(settings, admin, "admin")
    batch_id, batch_request = pending_bulk_deletion(app_server.url, asker, TOKEN_ASKED, "csrf")
    values = {
        "vmid": str(TOKEN_ASKED),
        "request_id": pending_deletion(app_server.url, asker, TOKEN_ASKED, "csrf"),
        "node": "pve1",
        "batch_id": batch_id,
        "storage": "local",
        "alert_id": "1",
    }
    tried = []
    try:
        with httpx.Client(base_url=app_server.url, timeout=30) as api:
            for method, path in change_routes(app_server.app):
                if not path.startswith("/api/"):
                    continue
                rule = RULES[(method, path)]
                url = substitute(path, {**values, "operation": "backup" if "{vmid}" in path else "create-ct"})
                secret = asker if rule.who == REQUESTER else token
                answer = api.request(
                    method, url, json=rule.body, headers={"Authorization": f"Bearer {secret}"}
                )
                assert answer.status_code in rule.ok, f"{method} {url} with a token: got {answer.status_code}"
                tried.append(path)
    finally:
        cancel(app_server.url, asker, values["request_id"])
        cancel(app_server.url, asker, batch_request)
    assert len(tried) >= 5


def test_sign_in_without_the_form_token_is_refused(client: httpx.Client, settings: Settings) -> None:
    name = make_user(settings, "viewer")
    client.get("/login")
    answer = client.post("/login", data={"username": name, "password": PASSWORD})
    assert answer.status_code == 403
    assert "expired or came from another site" in answer.text
    assert "proxgate_session" not in client.cookies
    assert login(client, name).status_code == 303  # with the form's token it works
    assert csrf_from(client.get("/account").text)
