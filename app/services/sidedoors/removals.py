"""A guest gone from /cluster/resources with no task that removed it (its configuration file deleted on a node):
recorded once, as an observed deletion, with its alert.

Each process compares the guests of one round with those of its round before, so it knows when it last saw the
guest. Two processes notice the same removal a round apart: the check and the record run with the node's cursor
row locked (a write first, which also takes SQLite's write lock), and a removal recorded after this process last
saw the guest is the same removal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import utcnow
from app.db.observed import ObservedTask, ObserverCursor
from app.services import audit
from app.services.sidedoors.record import METHOD, NOBODY_KNOWN, Recorder
from app.services.sidedoors.touched import touched_since

KEY = "removed:"  # the observed_tasks key of a removal: removed:<vmid>:<when it was noticed>
# A task may be listed a little after its guest left the cluster view.
SLACK = timedelta(seconds=30)


@dataclass(frozen=True)
class Present:
    """A guest as one round of the cluster view showed it."""

    node: str
    guest_type: str
    name: str | None
    at: datetime


class Removals:
    """Records guests that left the cluster without a task."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], recorder: Recorder) -> None:
        self.sessions = sessions
        self.recorder = recorder

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
