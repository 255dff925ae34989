"""A guest gone from /cluster/resources with no task that removed it (its configuration file deleted on a node):
recorded once, as an observed deletion, with its alert.

Each process compares the guests of one round with those of its round before, so it knows when it last saw the
guest. Two processes notice the same removal a round apart: the check and the record run with the node's cursor
row locked (a write first, which also takes SQLite's write lock), and a removal recorded after this process last
saw the guest is the same removal. The guests last seen are kept in the database (only what changed is written),
so a process's first round compares with them: a guest removed while no Proxgate ran is noticed after a restart,
as last seen when its node's tasks were last read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import session_scope
from app.db.models import utcnow
from app.db.observed import ObservedGuest, ObservedTask, ObserverCursor
from app.services import audit
from app.services.sidedoors.record import METHOD, NOBODY_KNOWN, Recorder
from app.services.sidedoors.touched import touched_since

KEY = "removed:"  # the observed_tasks key of a removal: removed:<vmid>:<when it was noticed>
# A task may be listed a little after its guest left the cluster view.
SLACK = timedelta(seconds=30)
# Guests written or deleted per statement (well under SQLite's limit of bound parameters).
SLICE = 500


@dataclass(frozen=True)
class Present:
    """A guest as one round of the cluster view showed it."""

    node: str
    guest_type: str
    name: str | None
    at: datetime

    @property
    def identity(self) -> tuple[str, str, str | None]:
        """What the database keeps of it."""
        return self.node, self.guest_type, self.name


class Removals:
    """Records guests that left the cluster without a task."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], recorder: Recorder) -> None:
        self.sessions = sessions
        self.recorder = recorder

    async def last_seen(self) -> dict[int, Present]:
        """The guests the cluster view last showed any process, each seen when its node's tasks were last read
        (ahead of this process's first reading, which moves that on)."""
        async with self.sessions() as db:
            guests = (await db.exec(select(ObservedGuest))).all()
            cursors = {c.node: _aware(c.updated_at) for c in (await db.exec(select(ObserverCursor))).all()}
        never = datetime.fromtimestamp(0, UTC)
        return {g.vmid: Present(g.node, g.guest_type, g.name, cursors.get(g.node, never)) for g in guests}

    async def remember(self, before: Mapping[int, Present], now: Mapping[int, Present]) -> None:
        """Keep the guests of this round in place of those of the round before: only what changed is written."""
        gone = sorted(v for v in before if v not in now)
        # Sorted, so that every process writes in one order: concurrent upserts never deadlock.
        rows = [
            {"vmid": v, "node": p.node, "guest_type": p.guest_type, "name": (p.name or "")[:128] or None}
            for v, p in sorted(now.items())
            if (b := before.get(v)) is None or b.identity != p.identity
        ]
        if not gone and not rows:
            return
        async with session_scope(self.sessions) as db:
            for at in range(0, len(gone), SLICE):
                part = gone[at : at + SLICE]
                await db.exec(delete(ObservedGuest).where(col(ObservedGuest.vmid).in_(part)))
            dialect = db.bind.dialect.name if db.bind else "sqlite"
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            if rows:  # executed for many rows with one compiled statement
                statement = insert(ObservedGuest)
                fresh = {k: statement.excluded[k] for k in ("node", "guest_type", "name")}
                upsert = statement.on_conflict_do_update(index_elements=["vmid"], set_=fresh)
                await (await db.connection()).execute(upsert, rows)

    async def record(self, vmid: int, last: Present) -> bool:
        """The removal of a guest last seen at `last`, once; False when explained or recorded already."""
        now = utcnow()
        async with audit.recording(self.sessions) as db:
            # Locks the node's cursor row: processes that noticed the same removal take turns from here.
            await db.exec(
                update(ObserverCursor).where(col(ObserverCursor.node) == last.node).values(updated_at=now)
            )
            if await touched_since(db, vmid, last.at - SLACK):
                return False
            key = f"{KEY}{vmid}:{int(now.timestamp())}"
            db.add(ObservedTask(upid=key, node=last.node, task_type="removed", vmid=vmid, user=NOBODY_KNOWN,
                                started_at=now, finished_at=now, exitstatus="OK"))  # fmt: skip
            kind = "VM" if last.guest_type == "qemu" else "CT"
            subject = f"{kind} {vmid}" + (f" ({last.name})" if last.name else "")
            message = (
                f"{subject} is gone from the cluster and no task removed it: deleted in Proxmox without a task "
                "(its configuration file removed on a node), not through Proxgate"
            )
            target = audit.Target(last.node, last.guest_type, vmid, last.name)
            draft = audit.Draft(
                "delete", "destructive", "succeeded", target, {"task": "none"}, message=message
            )
            await audit.append_in(db, audit.Actor(None, NOBODY_KNOWN, METHOD), draft)
            details = {
                "operation": "delete",
                "node": last.node,
                "vmid": vmid,
                "name": last.name,
                "task": None,
            }
            alert = f"{subject} was removed in Proxmox without a task, and without an approval"
            self.recorder.alert(db, key, vmid, alert, details, NOBODY_KNOWN)
            await db.commit()
        return True


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
