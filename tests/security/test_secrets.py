"""No secret leaks: after a full scenario over real HTTP (sign-in, tokens, a password change, actions, a two-person
deletion, audit exports, error pages, a failing Proxmox, /metrics and /readyz), no response, log record or
database row holds the Proxmox token secret, a password, an API token, a session cookie or the secret key."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import httpx
import pytest
from sqlalchemy import create_engine, inspect, select, table, text

from app.config import Settings
from app.db.engine import sync_url
from app.deps import SESSION_COOKIE
from pvesim.fake import DemoPve
from tests.approval_guests import settle
from tests.backup_guests import remove_guests
from tests.factories import csrf_from, make_token, make_user
from tests.servers import AppServer

MY_RANGE = range(9950, 10000)
VM, DOOMED = 9951, 9952
TOKEN_RE = re.compile(r'<code class="token-value">([^<]+)</code>')


@dataclass
class Recorder:
    """Every response the scenario's clients received, as text, but the one allowed to show a secret."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)

    def hook(self, response: httpx.Response) -> None:
        """An httpx response hook: keep the headers and the body; note session cookies given out."""
        response.read()
        where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
        headers = []
        for name, value in response.headers.multi_items():
            if name.lower() == "set-cookie" and value.startswith(f"{SESSION_COOKIE}="):
                cookie = SimpleCookie(value)[SESSION_COOKIE].value
                if cookie:
                    self.sessions.add(cookie)
                    continue  # the one header that must carry it to the browser
            headers.append(f"{name}: {value}")
        self.seen.append((f"{where} headers", "\n".join(headers)))
        self.seen.append((f"{where} body", response.text))

    def forget(self, response: httpx.Response) -> None:
        """Leave out the body of the page that shows a new token, once (its headers are still checked)."""
        where = f"{response.request.method} {response.request.url.path} -> {response.status_code} body"
        self.seen.remove((where, response.text))

    def client(self, app_server: AppServer) -> httpx.Client:
        """A client of the app whose responses are recorded."""
        return httpx.Client(base_url=app_server.url, timeout=30, event_hooks={"response": [self.hook]})


class Records(logging.Handler):
    """Every log record of the process (the app and uvicorn run in a thread of it), with its extras."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the message, the exception and every attribute a structured logger added; not the records of
        the test's own clients (the main thread), which see the cookies they are given."""
        if record.threadName != "MainThread":
            self.lines.append(f"{record.name}: {self.format(record)} {record.__dict__!r}")


# The root logger, and uvicorn's, which keep their records to themselves (propagate=False).
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def records() -> Iterator[Records]:
    """Log records at DEBUG from every logger while the test runs (uvicorn's access log too, as in production)."""
    handler = Records()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """VM 9951 to start and stop and VM 9952 to delete, removed afterwards."""
    remove_guests(pve, MY_RANGE)
    for vmid in (VM, DOOMED):
        pve.add_vm(vmid, f"secrets-{vmid}", node="pve1", status="stopped", config={"memory": 512})
    yield
    remove_guests(pve, MY_RANGE)


def sign_in(http: httpx.Client, username: str, password: str) -> httpx.Response:
    """The sign-in form, as a browser sends it; the client then sends the CSRF header of the new session."""
    http.headers.pop("X-CSRF-Token", None)
    http.cookies.clear()
    token = csrf_from(http.get("/login").text)
    answer = http.post("/login", data={"username": username, "password": password, "csrf_token": token})
    if answer.status_code == 303:
        http.headers["X-CSRF-Token"] = csrf_from(http.get("/account").text)
    return answer


def database_rows(settings: Settings) -> list[tuple[str, str]]:
    """Every row of every table of the app's database, as text (the audit events among them)."""
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        names = inspect(engine).get_table_names()
        with engine.connect() as conn:
            return [
                (f"table {name}", repr(tuple(row)))
                for name in names
                for row in conn.execute(select(text("*")).select_from(table(name))).all()
            ]
    finally:
        engine.dispose()


def test_no_secret_appears_in_responses_logs_or_the_database(
    settings: Settings, app_server: AppServer, pve: DemoPve, guests: None, records: Records
) -> None:
    passwords = {
        "alice": "alice's first passphrase 1",
        "alice-new": "alice's second passphrase 2",
        "bob": "bob's own passphrase 3",
        "admin": "the admin's passphrase 4",
        "wrong": "a mistyped passphrase 5",
    }
    alice = make_user(settings, "operator", password=passwords["alice"])
    bob = make_user(settings, "approver", password=passwords["bob"])
    admin = make_user(settings, "admin", password=passwords["admin"])
    tokens = {"bob": make_token(settings, bob)}
    rec = Recorder()

    with rec.client(app_server) as anon:
        assert sign_in(anon, alice, passwords["wrong"]).status_code == 401
        assert anon.get("/no-such-page").status_code == 404
        assert (
            anon.get("/api/v1/guests", headers={"Authorization": "Bearer pg_not-a-token"}).status_code == 401
        )
        assert anon.get("/metrics").status_code == 401

    with rec.client(app_server) as web:
        assert sign_in(web, alice, passwords["alice"]).status_code == 303
        made = web.post("/account/tokens", data={"name": "script", "role": "operator"})
        assert made.status_code == 200 and (found := TOKEN_RE.search(made.text)), made.text
        tokens["alice"] = found.group(1)
        rec.forget(made)
        assert web.get("/admin/users").status_code == 403
        assert web.get("/guests/not-a-number").status_code == 422
        started = web.post(f"/guests/{VM}/actions/start", headers={"HX-Request": "true"})
        assert started.status_code == 200, started.text
        changed = web.post(
            "/account/password", data={"current": passwords["alice"], "new": passwords["alice-new"]}
        )
        assert changed.status_code == 200 and "Password changed" in changed.text
        assert sign_in(web, alice, passwords["alice-new"]).status_code == 303
        assert web.get("/account").status_code == 200

    alice_api = {"Authorization": f"Bearer {tokens['alice']}"}
    with rec.client(app_server) as api:
        assert api.get("/api/v1/guests", headers=alice_api).status_code == 200
        pve.fail("POST", f"/nodes/pve1/qemu/{VM}/status/stop", 500, "stop failed: no such device")
        failed = api.post(f"/api/v1/guests/{VM}/actions/stop", json={}, headers=alice_api)
        assert failed.status_code >= 400, failed.text
        pve.failures.clear()
        asked = api.post(
            f"/api/v1/guests/{DOOMED}/actions/delete", json={"reason": "secrets test"}, headers=alice_api
        )
        assert asked.status_code == 202, asked.text
        rid = asked.json()["request_id"]

    with rec.client(app_server) as web:
        assert sign_in(web, bob, passwords["bob"]).status_code == 303
        assert web.get(f"/approvals/{rid}").status_code == 200
        approved = web.post(
            f"/approvals/{rid}/approve", data={"confirm": str(DOOMED)}, headers={"HX-Request": "true"}
        )
        assert approved.status_code < 400, approved.text
        assert settle(web, {"Authorization": f"Bearer {tokens['bob']}"}, rid)["status"] == "succeeded"
        assert pve.vm(DOOMED) is None

    with rec.client(app_server) as web:
        assert sign_in(web, admin, passwords["admin"]).status_code == 303
        for path in (
            "/audit/export.csv",
            "/audit/export.jsonl",
            "/api/v1/audit",
            "/audit",
            "/metrics",
            "/readyz",
        ):
            assert web.get(path).status_code == 200, path
        pve.fail("GET", "/version", 401, "authentication failure")
        assert web.get("/readyz").status_code == 503
        pve.failures.clear()

    assert len(rec.sessions) == 4, rec.sessions
    secrets = {
        "the Proxmox token secret": _secret(settings.proxmox_token_secret),
        "the secret key": _secret(settings.secret_key),
        **{f"the password {name!r}": value for name, value in passwords.items()},
        **{f"{name}'s API token": value for name, value in tokens.items()},
        **{f"session cookie {n}": value for n, value in enumerate(sorted(rec.sessions))},
    }
    places = rec.seen + [("log", line) for line in records.lines] + database_rows(settings)
    assert {"table audit_events", "table web_sessions"} <= {where for where, _ in places}
    assert any(line.startswith("uvicorn.access") for line in records.lines), "the access log was not seen"
    leaks = [
        f"{what} in {where}" for where, body in places for what, value in secrets.items() if value in body
    ]
    assert leaks == [], "secrets leaked:\n" + "\n".join(leaks)


def _secret(value: object) -> str:
    """The plain text of a SecretStr setting."""
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    assert isinstance(plain, str) and len(plain) >= 16
    return plain
