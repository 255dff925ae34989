"""The write mix of bench/load.py: operators acting and asking, approvers deciding, agents polling requests.

Of every ten people, five browse as viewers (the read mix), two are operators who take a snapshot of a guest
and then ask for its deletion (which needs approval), two are approvers who read /approvals and decide the
oldest pending request, and one is an agent polling `GET /api/v1/requests` with an API token. Writers pause
`--write-think` seconds between their steps (10-30 by default: people act less often than they click). Refusals a real
team meets (a request someone else already decided, a guest locked by its own task) are counted apart from
errors; an error is a 5xx or no answer at all.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.factories import csrf_from

ROLES = ("viewer",) * 5 + ("operator",) * 2 + ("approver",) * 2 + ("agent",)
_names = itertools.count()


def role_of(n: int) -> str:
    """The role of person n."""
    return ROLES[n % len(ROLES)]


@dataclass
class Actor:
    """One person of the write mix: their client, role, CSRF token and what they asked for last."""

    http: httpx.AsyncClient
    role: str
    csrf: str = ""
    token: str = ""
    made: list[tuple[int, str]] = field(default_factory=list)


async def prepare(actor: Actor) -> None:
    """Read the CSRF token a signed-in page carries (for the person's POSTs)."""
    if actor.role in ("operator", "approver"):
        actor.csrf = csrf_from((await actor.http.get("/account")).text)


async def step(actor: Actor, vmids: list[int]) -> tuple[str, httpx.Response]:
    """One click of a writer: (the page's name for the report, the answer)."""
    if actor.role == "agent":
        headers = {"Authorization": f"Bearer {actor.token}"}
        return "agent polls requests", await actor.http.get(
            "/api/v1/requests", params={"status": "pending"}, headers=headers
        )
    if actor.role == "operator":
        return await _operate(actor, vmids)
    return await _decide(actor)


async def _operate(actor: Actor, vmids: list[int]) -> tuple[str, httpx.Response]:
    """Ask for the deletion of the snapshot taken last time, or take a new one."""
    form: dict[str, Any] = {"csrf_token": actor.csrf}
    if actor.made:
        vmid, name = actor.made.pop()
        form |= {"snapname": name, "reason": "load test: tidy up"}
        return "operator asks", await actor.http.post(f"/guests/{vmid}/actions/delete-snapshot", data=form)
    vmid, name = random.choice(vmids), f"load{next(_names)}"  # noqa: S311 (a benchmark's choice)
    answer = await actor.http.post(f"/guests/{vmid}/actions/snapshot", data=form | {"snapname": name})
    if answer.status_code == 200:
        actor.made.append((vmid, name))
    return "operator acts", answer


async def _decide(actor: Actor) -> tuple[str, httpx.Response]:
    """Open the approvals page; approve (every other time reject) the oldest pending request."""
    page = await actor.http.get("/approvals")
    pending = (await actor.http.get("/api/v1/requests", params={"status": "pending", "limit": 50})).json()
    items = pending.get("items", []) if isinstance(pending, dict) else []
    if not items or page.status_code != 200:
        return "approver reads", page
    oldest = items[-1]
    headers = {"X-CSRF-Token": actor.csrf}
    if oldest["id"] % 2:
        body = {"comment": "load test: not now"}
        return "approver decides", await actor.http.post(
            f"/api/v1/requests/{oldest['id']}/reject", json=body, headers=headers
        )
    body = {"confirm": str(oldest["target"]["vmid"]), "seal": oldest["seal"]}
    return "approver decides", await actor.http.post(
        f"/api/v1/requests/{oldest['id']}/approve", json=body, headers=headers
    )


def expected_refusal(page: str, answer: httpx.Response) -> bool:
    """A refusal a real team meets under this load, not a fault: a request already decided by someone else
    (or its same change already asked), a guest busy with its own task, a snapshot not there yet."""
    return answer.status_code in (403, 409, 422) and page in (
        "operator acts",
        "operator asks",
        "approver decides",
    )
