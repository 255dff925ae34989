"""Configuration changes made without Proxgate: a config PUT is synchronous and leaves no task, so where
Proxgate reads a guest's configuration anyway (its page), a digest that changed since the last reading, with no
call of Proxgate's and no observed task on the guest in between, is recorded as an observed config change
naming the keys that changed. Values are never kept, only keyed fingerprints of them."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
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
        digest, vmid = config.get("digest"), target.vmid
        if not isinstance(digest, str) or vmid is None or self._seen.get(vmid) == digest:
            return None
        prints = self.fingerprints(config)
        async with self.sessions() as db:
            before = await db.get(GuestConfigSeen, vmid)
        if before is None:
            await self._first(vmid, digest, prints)
            return None
        if before.digest == digest:
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

    async def _first(self, vmid: int, digest: str, prints: dict[str, str]) -> None:
        try:
            async with self.sessions() as db:
                db.add(
                    GuestConfigSeen(
                        vmid=vmid, digest=digest, fingerprints=json.dumps(prints), read_at=utcnow()
                    )
                )
                await db.commit()
        except IntegrityError:
            return
        self._seen[vmid] = digest


def _draft(target: audit.Target, changed: list[str]) -> audit.Draft:
    what = "VM" if target.guest_type == "qemu" else "CT" if target.guest_type == "lxc" else "Guest"
    message = (
        f"Observed config change of {what} {target.vmid}: {', '.join(changed)} changed in Proxmox, not through "
        "Proxgate (a config change leaves no task, so who made it is not known)"
    )
    return audit.Draft("config", "reversible", "succeeded", target, {"changed": changed}, message=message)
