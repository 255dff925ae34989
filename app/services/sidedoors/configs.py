"""Configuration changes made without Proxgate: a config PUT is synchronous and leaves no task, so where
Proxgate reads a guest's configuration anyway (its page, the IP index, a change's plan), a digest that changed
since the last reading, with no call of Proxgate's and no observed task on the guest in between, is recorded as
an observed config change naming the keys that changed. Values are never kept, only keyed fingerprints of them.

The IP index reads every guest's config each pass: a digest this process saw last time costs a dict lookup, and
the others are looked up and first noted a slice at a time, so only a change costs a transaction of its own."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import utcnow
from app.db.observed import GuestConfigSeen
from app.services import audit
from app.services.sidedoors.record import METHOD, NOBODY_KNOWN
from app.services.sidedoors.touched import touched_since

# Config keys that say nothing about the guest (the digest itself, and what a snapshot or a lock writes).
IGNORED = frozenset({"digest", "lock", "parent", "snaptime", "vmstate"})
# A call made just before the last reading may have changed the config after it.
SLACK = timedelta(seconds=30)
# Guests looked up or first noted per statement (well under SQLite's limit of bound parameters).
SLICE = 500
Reading = tuple[audit.Target, Mapping[str, Any]]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


class ConfigWatch:
    """Compares each guest configuration read with the last one and records what changed beside Proxgate."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], secret_key: str) -> None:
        self.sessions = sessions
        self._key = hmac.digest(secret_key.encode(), b"proxgate config fingerprints", "sha256")
        # vmid -> digest this process last saw: a page refreshed every few seconds costs no query.
        self._seen: dict[int, str] = {}

    def fingerprints(self, config: Mapping[str, Any]) -> dict[str, str]:
        """key -> 16 hex digits of HMAC-SHA256(key ‖ value): equal values match, and no value can be read back."""
        return {
            k: hmac.digest(self._key, f"{k}\0{v}".encode(), hashlib.sha256).hex()[:16]
            for k, v in sorted(config.items())
            if k not in IGNORED
        }

    async def seen(self, target: audit.Target, config: Mapping[str, Any]) -> list[str] | None:
        """Note this reading; the keys of a change made without Proxgate when it recorded one, else None."""
        return (await self.seen_many([(target, config)])).get(target.vmid or 0)

    async def seen_many(self, readings: Sequence[Reading]) -> dict[int, list[str]]:
        """Note these readings; vmid -> the keys of each change made without Proxgate that was recorded."""
        fresh: dict[int, Reading] = {}
        for target, config in readings:
            digest = config.get("digest")
            if isinstance(digest, str) and target.vmid is not None and self._seen.get(target.vmid) != digest:
                fresh[target.vmid] = (target, config)
        recorded: dict[int, list[str]] = {}
        vmids = list(fresh)
        for at in range(0, len(vmids), SLICE):
            part = {vmid: fresh[vmid] for vmid in vmids[at : at + SLICE]}
            async with self.sessions() as db:
                # Plain rows of the digests alone: most are unchanged, and only a change needs the rest.
                query = select(GuestConfigSeen.vmid, GuestConfigSeen.digest)
                stored = dict((await db.exec(query.where(col(GuestConfigSeen.vmid).in_(part)))).all())
            await self._first({v: r[1] for v, r in part.items() if v not in stored})
            for vmid, digest in stored.items():
                target, config = part[vmid]
                if digest == config["digest"]:
                    self._seen[vmid] = digest
                elif (changed := await self._changed(target, config)) is not None:
                    recorded[vmid] = changed
        return recorded

    async def _changed(self, target: audit.Target, config: Mapping[str, Any]) -> list[str] | None:
        """Move the guest's reading on from the stored one (once, whoever noticed); record the change if
        unexplained."""
        vmid, digest, prints = target.vmid or 0, str(config["digest"]), self.fingerprints(config)
        async with self.sessions() as db:
            before = await db.get(GuestConfigSeen, vmid)
        if before is None or before.digest == digest:  # another process noted it meanwhile
            if before is not None:
                self._seen[vmid] = digest
            return None
        old = json.loads(before.fingerprints)
        changed = sorted(k for k in old.keys() | prints.keys() if old.get(k) != prints.get(k))
        async with self.sessions() as db:
            explained = await touched_since(db, vmid, _aware(before.read_at) - SLACK)
        async with audit.recording(self.sessions) as db:
            moved = await db.exec(
                update(GuestConfigSeen)
                .where(col(GuestConfigSeen.vmid) == vmid, col(GuestConfigSeen.digest) == before.digest)
                .values(digest=digest, fingerprints=json.dumps(prints), read_at=utcnow())
            )
            if moved.rowcount != 1:  # another process (or reading) noted it first
                return None
            recorded = changed and not explained
            if recorded:
                await audit.append_in(db, audit.Actor(None, NOBODY_KNOWN, METHOD), _draft(target, changed))
            await db.commit()
        self._seen[vmid] = digest
        return changed if recorded else None

    async def _first(self, configs: Mapping[int, Mapping[str, Any]]) -> None:
        """The first reading of these guests, in one statement (another process may note them at once)."""
        if not configs:
            return
        now = utcnow()
        rows = [
            {
                "vmid": vmid,
                "digest": str(config["digest"]),
                "fingerprints": json.dumps(self.fingerprints(config)),
                "read_at": now,
            }
            for vmid, config in configs.items()
        ]
        async with self.sessions() as db:
            dialect = db.bind.dialect.name if db.bind else "sqlite"
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            # Executed for many rows with one compiled statement (a VALUES list of 500 took longer to build).
            statement = insert(GuestConfigSeen).on_conflict_do_nothing(index_elements=["vmid"])
            await (await db.connection()).execute(statement, rows)
            await db.commit()
        # Not marked seen: a row another process wrote first may hold another digest; the next reading compares.


def _draft(target: audit.Target, changed: list[str]) -> audit.Draft:
    what = "VM" if target.guest_type == "qemu" else "CT" if target.guest_type == "lxc" else "Guest"
    message = (
        f"Observed config change of {what} {target.vmid}: {', '.join(changed)} changed in Proxmox, not through "
        "Proxgate (a config change leaves no task, so who made it is not known)"
    )
    return audit.Draft("config", "reversible", "succeeded", target, {"changed": changed}, message=message)
