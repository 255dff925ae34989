"""IpStore: the IP index in the database (ip_guest_configs, ip_guest_addresses), read whole and written in batches.

Rows are upserted by vmid (INSERT ... ON CONFLICT, on SQLite and PostgreSQL alike), so several processes may write
the same guest; each save is one transaction on one connection, however many guests it carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_address
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import session_scope
from app.db.ips import IpGuestAddresses, IpGuestConfig
from app.proxmox.netparse import AddressRecord

__all__ = ["BATCH", "IpStore", "StoredConfig", "StoredLive"]

# Rows per statement: well under SQLite's limit of bound parameters (7 columns each).
BATCH = 500


@dataclass(frozen=True)
class StoredConfig:
    """A guest's network config keys as last read."""

    vmid: int
    node: str
    kind: str
    network: dict[str, str]
    read_at: datetime

    @property
    def digest(self) -> str | None:
        """The config digest the keys were read at."""
        return self.network.get("digest") or None


@dataclass(frozen=True)
class StoredLive:
    """A running guest's reported addresses as last read, or why they could not be."""

    vmid: int
    node: str
    status: str
    records: list[AddressRecord]
    problem: tuple[str, str] | None
    read_at: datetime


def _records_json(records: Iterable[AddressRecord]) -> str:
    return json.dumps([[str(r.address), r.prefix_length, r.interface, r.mac, r.source] for r in records])


def _records_of(text: str) -> list[AddressRecord]:
    return [AddressRecord(ip_address(a), p, i, m, s) for a, p, i, m, s in json.loads(text)]


class IpStore:
    """Reads and writes the stored IP index through the app's session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self) -> tuple[list[StoredConfig], list[StoredLive]]:
        """Every stored config and live answer (plain rows: 10,000 ORM objects took a second to make)."""
        c, a = IpGuestConfig.__table__.c, IpGuestAddresses.__table__.c  # type: ignore[attr-defined]
        async with self._sessions() as session:
            connection = await session.connection()
            configs = await connection.execute(select(c.vmid, c.node, c.kind, c.network, c.read_at))
            config_rows = configs.all()
            lives = await connection.execute(
                select(a.vmid, a.node, a.status, a.records, a.problem_kind, a.problem, a.read_at)
            )
            live_rows = lives.all()
        return (
            [
                StoredConfig(vmid, node, kind, json.loads(net), at)
                for vmid, node, kind, net, at in config_rows
            ],
            [
                StoredLive(vmid, node, status, _records_of(records), (kind, text or "") if kind else None, at)
                for vmid, node, status, records, kind, text, at in live_rows
            ],
        )

    async def save(
        self, configs: Sequence[StoredConfig], lives: Sequence[StoredLive], dropped: Iterable[int] = ()
    ) -> None:
        """Upsert the given entries and delete the dropped guests' rows, in one transaction."""
        gone = sorted(set(dropped))
        config_rows = [
            {
                "vmid": c.vmid,
                "node": c.node,
                "kind": c.kind,
                "digest": c.digest,
                "network": json.dumps(c.network, sort_keys=True),
                "read_at": c.read_at,
            }
            for c in configs
        ]
        live_rows = [
            {
                "vmid": a.vmid,
                "node": a.node,
                "status": a.status,
                "records": _records_json(a.records),
                "problem_kind": a.problem[0] if a.problem else None,
                "problem": a.problem[1] if a.problem else None,
                "read_at": a.read_at,
            }
            for a in lives
        ]
        async with session_scope(self._sessions) as session:
            for start in range(0, len(gone), BATCH):
                part = gone[start : start + BATCH]
                await session.exec(delete(IpGuestConfig).where(col(IpGuestConfig.vmid).in_(part)))
                await session.exec(delete(IpGuestAddresses).where(col(IpGuestAddresses.vmid).in_(part)))
            await _upsert(session, IpGuestConfig, config_rows)
            await _upsert(session, IpGuestAddresses, live_rows)


async def _upsert(session: AsyncSession, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (vmid) DO UPDATE, BATCH rows per statement."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    for start in range(0, len(rows), BATCH):
        statement = insert(table).values(rows[start : start + BATCH])
        columns = {name: statement.excluded[name] for name in rows[0] if name != "vmid"}
        await session.exec(statement.on_conflict_do_update(index_elements=["vmid"], set_=columns))
