"""The people the matrix tries every route as: anonymous, a session of each role, and API tokens whose role is
lower than their user's (an admin's viewer token must be a viewer)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import httpx

from app.config import Settings
from tests.approval_guests import ask
from tests.factories import PASSWORD, csrf_from, make_token, make_user, signed_in
from tests.security.routes import ROLES
from tests.security.store import token_id


@dataclass
class Caller:
    """One way of calling the app: who (role None is anonymous), how, and their own spare token."""

    label: str
    role: str | None
    username: str | None
    http: httpx.Client
    token: bool = False
    spare_token_id: int | None = None


@contextmanager
def anonymous(base_url: str) -> Iterator[httpx.Client]:
    """A client that has opened the sign-in page, so its forms carry a valid pre-login CSRF token."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as http:
        http.headers["X-CSRF-Token"] = csrf_from(http.get("/login").text)
        yield http


@contextmanager
def everyone(base_url: str, settings: Settings, people: dict[str, str]) -> Iterator[list[Caller]]:
    """Anonymous, a session per role (people: role -> username) and an admin's token of each role."""
    with ExitStack() as stack:
        found = [Caller("anonymous", None, None, stack.enter_context(anonymous(base_url)))]
        for role in ROLES:
            name = people[role]
            session = stack.enter_context(signed_in(base_url, name, PASSWORD))
            spare = token_id(settings, make_token(settings, name))
            found.append(Caller(f"{role} session", role, name, session, spare_token_id=spare))
        for role in ROLES:
            http = stack.enter_context(httpx.Client(base_url=base_url, follow_redirects=False, timeout=30))
            http.headers["Authorization"] = f"Bearer {make_token(settings, people['admin'], role)}"
            found.append(Caller(f"admin's {role} token", role, people["admin"], http, token=True))
        yield found


def make_people(settings: Settings) -> dict[str, str]:
    """A new user of each role: role -> username."""
    return {role: make_user(settings, role) for role in ROLES}


def pending_deletion(base_url: str, token: str, vmid: int, reason: str) -> str:
    """The id of a pending request to delete the guest, asked for with this token."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        answer = ask(http, {"Authorization": f"Bearer {token}"}, vmid, "delete", reason=reason)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["request_id"])


def pending_bulk_deletion(base_url: str, token: str, vmid: int, reason: str) -> tuple[str, str]:
    """(batch id, request id) of a pending bulk request to delete the guest, asked for with this token."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        body = {"vmids": [vmid], "reason": reason}
        answer = http.post("/api/v1/bulk/delete", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["batch_id"]), str(answer.json()["request_id"])
