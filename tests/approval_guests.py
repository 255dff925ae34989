"""Guests 9300-9399 for the approval tests, made in the shared fake and removed afterwards, and the people
(an operator, two approvers, a viewer) who ask for and decide changes through the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.engine import sync_url
from pvesim.fake import DemoPve
from tests.backup_guests import FakeApi, remove_guests
from tests.factories import make_token, make_user

MY_RANGE = range(9300, 9400)
GIB = 1024**3


@dataclass
class People:
    """Bearer headers of an operator (the requester), two approvers and a viewer."""

    alice: dict[str, str]
    bob: dict[str, str]
    carol: dict[str, str]
    viewer: dict[str, str]
    alice_name: str
    bob_name: str


def people(settings: Settings) -> People:
    """New users with tokens of their own role: alice (operator), bob and carol (approvers, their tokens made
    with the approver role, as `proxgate token add --role approver` makes them), and a viewer."""
    roles = ("operator", "approver", "approver", "viewer")
    alice, bob, carol, viewer = (make_user(settings, r) for r in roles)
    head = lambda name, role: {"Authorization": f"Bearer {make_token(settings, name, role)}"}  # noqa: E731
    heads = [head(name, role) for name, role in zip((alice, bob, carol, viewer), roles, strict=True)]
    return People(*heads, alice, bob)


def add_vm(pve: DemoPve, vmid: int, *, status: str = "stopped", size: int = 8, ostype: str = "l26") -> Any:
    """A VM on pve1 with one disk of `size` GiB on local-lvm and a CD-ROM."""
    assert vmid in MY_RANGE
    name = f"vm-{vmid}-disk-0"
    pve.storages["local-lvm"]["volumes"][name] = {
        "content": "images",
        "format": "raw",
        "size": size * GIB,
        "vmid": vmid,
        "ctime": int(time.time()),
    }
    config = {
        "scsi0": f"local-lvm:{name},size={size}G",
        "ide2": "none,media=cdrom",
        "memory": 2048,
        "cores": 2,
        "ostype": ostype,
        "boot": "order=scsi0",
        "net0": f"virtio=BC:24:11:93:{vmid % 100:02d}:01,bridge=vmbr0",
    }
    vm = pve.add_vm(vmid, f"appr{vmid}", node="pve1", status=status, config=config)
    vm.qmpstatus = status
    return vm


def add_ct(pve: DemoPve, vmid: int, *, status: str = "stopped", size: int = 4) -> Any:
    """A container on pve1 with a root disk of `size` GiB on local-lvm."""
    assert vmid in MY_RANGE
    name = f"vm-{vmid}-disk-0"
    pve.storages["local-lvm"]["volumes"][name] = {
        "content": "rootdir",
        "format": "raw",
        "size": size * GIB,
        "vmid": vmid,
        "ctime": int(time.time()),
    }
    config = {
        "hostname": f"ct{vmid}",
        "memory": 512,
        "rootfs": f"local-lvm:{name},size={size}G",
        "ostype": "debian",
    }
    return pve.add_ct(vmid, node="pve1", status=status, config=config)


def snapshot(fake_api: FakeApi, guest: Any, name: str, **params: Any) -> None:
    """Take a snapshot through the fake's API (tasks end at once in the tests)."""
    kind = "lxc" if guest in fake_api.served.pve.cts else "qemu"
    status, _log = fake_api.run(
        "POST", f"/nodes/pve1/{kind}/{guest.vmid}/snapshot", data={"snapname": name, **params}
    )
    assert status["exitstatus"] == "OK", status


def guests_made(pve: DemoPve) -> Iterator[None]:
    """For a fixture: a clean 9300-9399 range before and after the test."""
    remove_guests(pve, MY_RANGE)
    try:
        yield
    finally:
        remove_guests(pve, MY_RANGE)


def sent(pve: DemoPve, since: int, method: str, suffix: str) -> list[Any]:
    """The requests the fake received after index `since` with this method whose path ends with suffix."""
    return [r for r in pve.requests[since:] if r[0] == method and r[1].endswith(suffix)]


def sql(settings: Settings, statement: str, **values: Any) -> None:
    """Change the app's database behind its back (what a crash, a clock or an intruder would do)."""
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), values)
    finally:
        engine.dispose()


def select_rows(settings: Settings, statement: str, **values: Any) -> list[Any]:
    """Rows the app's database holds, read directly."""
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(statement), values).all())
    finally:
        engine.dispose()


# Every column a person's free text (or anything made from it) can end up in.
FREE_TEXT_COLUMNS = (
    ("approval_requests", "reason"),
    ("approval_requests", "decision_comment"),
    ("approvals", "comment"),
    ("audit_events", "message"),
    ("audit_events", "params"),
    ("notification_outbox", "payload"),
)


def stored_where(settings: Settings, marker: str) -> list[str]:
    """The table.column names that hold the marker in some row (none, when nothing was stored)."""
    return [
        f"{table}.{column}"
        for table, column in FREE_TEXT_COLUMNS
        if select_rows(settings, f"SELECT 1 FROM {table} WHERE {column} LIKE :m", m=f"%{marker}%")  # noqa: S608
    ]


def ask(client: httpx.Client, headers: dict[str, str], vmid: int, op: str, **params: Any) -> httpx.Response:
    """POST the guest operation with these parameters."""
    return client.post(f"/api/v1/guests/{vmid}/actions/{op}", json=params, headers=headers)


def settle(
    client: httpx.Client, headers: dict[str, str], request_id: int, timeout: float = 15
) -> dict[str, Any]:
    """The request once it has ended (succeeded, failed, ...)."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/v1/requests/{request_id}", headers=headers).json()
        if body["status"] not in ("pending", "executing"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
