"""The side-door report: every Proxmox user and token, and which gated changes each can make without Proxgate.

It reads /access/users?full=1, /access/acl and, per user and token, /access/permissions?userid=... (each needs
Sys.Audit on /access, which PVEAuditor grants); what Proxgate's token could not read is named, not guessed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveForbidden
from app.proxmox.paths import ACCESS_ACL, ACCESS_PERMISSIONS, ACCESS_USERS, ACL_ACCESS
from app.services.sidedoors.capabilities import capabilities_of
from app.services.sidedoors.principals import Principal, principals_of
from app.services.sidedoors.proposals import proposals_for

AT_ONCE = 8
# A report is read again after this long (a dashboard's count need not ask Proxmox on every visit).
TTL = 60.0


@dataclass
class SideDoorReport:
    """Who can do what beside Proxgate, when it was read, and what could not be read."""

    read_at: float
    principals: list[Principal] = field(default_factory=list)
    unreadable: str | None = None  # the whole report (no /access/users)
    acl_unreadable: str | None = None

    @property
    def side_doors(self) -> list[Principal]:
        """The principals that can make a gated change without Proxgate."""
        return [p for p in self.principals if p.bypasses]


def _why(exc: PveError) -> str:
    """A refusal in the words an admin acts on: the privilege Proxgate's token lacks, and where."""
    if isinstance(exc, PveForbidden) and exc.privilege:
        return f"Proxgate's token lacks {exc.privilege} on {exc.acl_path or ACL_ACCESS} ({exc.message})"
    return str(exc)


class SideDoors:
    """Reads the report from Proxmox, keeping the last one for a minute."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve
        self._last: SideDoorReport | None = None
        self._lock = asyncio.Lock()

    async def report(self, fresh: bool = False) -> SideDoorReport:
        """The report, read again when older than a minute or when asked."""
        async with self._lock:
            if fresh or self._last is None or time.time() - self._last.read_at > TTL:
                self._last = await self._read()
            return self._last

    async def _read(self) -> SideDoorReport:
        now = time.time()
        try:
            users = await self.pve.get(ACCESS_USERS, full=1) or []
        except PveError as exc:
            return SideDoorReport(now, unreadable=_why(exc))
        report = SideDoorReport(now, principals_of(users, self.pve.connection.token_id))
        acl: list[dict[str, Any]] = []
        try:
            acl = await self.pve.get(ACCESS_ACL) or []
        except PveError as exc:
            report.acl_unreadable = _why(exc)
        gate = asyncio.Semaphore(AT_ONCE)

        async def one(principal: Principal) -> None:
            async with gate:
                try:
                    permissions = await self.pve.get(ACCESS_PERMISSIONS, userid=principal.id) or {}
                except PveError as exc:
                    principal.unreadable = _why(exc)
                    return
            principal.holds = capabilities_of(permissions)
            principal.proposals = proposals_for(principal, acl)

        await asyncio.gather(*(one(p) for p in report.principals))
        return report
