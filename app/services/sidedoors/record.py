"""Write what was observed, exactly once however many processes see it.

A task's UPID is the key of its observed_tasks row, inserted in the same transaction as its audit event: the
first process to commit records it, the others get the unique key taken and roll back, chain and all. Its end
is a conditional UPDATE of that row with the end event; an observed destructive change adds its alert (unique
on the UPID too) and its notifications to that same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.executions import Execution
from app.db.models import utcnow
from app.db.observed import ObservedTask, SideDoorAlert
from app.proxmox.upid import Upid
from app.services import audit
from app.services.notifications import Notifier
from app.services.sidedoors.task_types import DONE_TO_GUEST, meaning_of

METHOD = audit.OBSERVED  # the auth_method of every observed event
# Who the events of changes that leave no task name: Proxmox does not say who made them.
NOBODY_KNOWN = "unknown (in Proxmox)"
UNSTARTED = ("calling", "unknown")
LOOKUP_SLICE = 500


@dataclass(frozen=True)
class Seen:
    """One task as a task list showed it: its UPID, and its exit status once it stopped."""

    upid: Upid
    exitstatus: str | None = None

    @property
    def running(self) -> bool:
        """Whether it was still running when listed."""
        return self.exitstatus is None


def outcome_of(exitstatus: str) -> str:
    """'succeeded' for OK and warnings, as Proxgate's own tasks count them; anything else failed."""
    return "succeeded" if exitstatus == "OK" or exitstatus.startswith("WARNINGS") else "failed"


def actor_of(upid: Upid) -> audit.Actor:
    """The Proxmox user (and token) that ran the task, as an audit actor."""
    return audit.Actor(None, upid.user, METHOD, token_name=upid.tokenid)


async def known_upids(sessions: async_sessionmaker[AsyncSession], upids: Iterable[str]) -> set[str]:
    """Which of these UPIDs Proxgate started (any process, approved runs too) or has observed already."""
    wanted = list(dict.fromkeys(upids))
    found: set[str | None] = set()
    async with sessions() as db:
        # A slice at a time: a catch-up after a long downtime may list thousands of tasks.
        for at in range(0, len(wanted), LOOKUP_SLICE):
            part = wanted[at : at + LOOKUP_SLICE]
            found.update((await db.exec(select(Execution.upid).where(col(Execution.upid).in_(part)))).all())
            found.update(
                (await db.exec(select(ObservedTask.upid).where(col(ObservedTask.upid).in_(part)))).all()
            )
    return {u for u in found if u}


async def calls_in_flight(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether some call of Proxgate's has no UPID recorded yet (its task may be listed before it is)."""
    async with sessions() as db:
        query = select(func.count()).select_from(Execution).where(col(Execution.state).in_(UNSTARTED))
        return int((await db.exec(query)).one()) > 0


class Recorder:
    """Records observed tasks and their ends in the audit chain, with alerts and notifications."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], notifier: Notifier, public_url: str
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.public_url = public_url.rstrip("/")

    async def record(self, seen: Seen, name: str | None) -> bool:
        """The task's first event (its end too when it stopped already); False when another process was first."""
        upid = seen.upid
        meaning = meaning_of(upid.type)
        finished = None if seen.running else utcnow()
        target = audit.Target(upid.node, meaning.guest_type, upid.vmid, name)
        who = upid.user
        what = f"{upid.type} of {_subject(upid, name)}" if upid.id else upid.type
        message = f"Run in Proxmox by {who}, not through Proxgate: {what}"
        if not seen.running:
            message += f"; ended: {seen.exitstatus}"
        outcome = "started" if seen.running else outcome_of(str(seen.exitstatus))
        draft = audit.Draft(
            meaning.operation, meaning.risk, outcome, target, {"task": upid.type}, upid.text, message
        )
        async with audit.recording(self.sessions) as db:
            try:
                db.add(_row(upid, finished, seen.exitstatus))
                await db.flush()
            except IntegrityError:
                return False
            await audit.append_in(db, actor_of(upid), draft)
            if not seen.running and outcome == "succeeded":
                await self._alert(db, upid, meaning.operation, name)
            await db.commit()
        return True

    async def record_end(self, upid: Upid, exitstatus: str, name: str | None) -> bool:
        """The end of a task recorded while it ran, once; False when it was recorded already."""
        meaning = meaning_of(upid.type)
        outcome = outcome_of(exitstatus)
        target = audit.Target(upid.node, meaning.guest_type, upid.vmid, name)
        message = f"Ended in Proxmox: {exitstatus}"
        draft = audit.Draft(
            meaning.operation, meaning.risk, outcome, target, {"task": upid.type}, upid.text, message
        )
        async with audit.recording(self.sessions) as db:
            ended = await db.exec(
                update(ObservedTask)
                .where(col(ObservedTask.upid) == upid.text, col(ObservedTask.finished_at).is_(None))
                .values(finished_at=utcnow(), exitstatus=exitstatus[:255])
            )
            if ended.rowcount != 1:
                return False
            await audit.append_in(db, actor_of(upid), draft)
            if outcome == "succeeded":
                await self._alert(db, upid, meaning.operation, name)
            await db.commit()
        return True

    async def _alert(self, db: AsyncSession, upid: Upid, operation: str, name: str | None) -> None:
        """A destructive change done beside Proxgate: an alert for the dashboard, and the notifications."""
        done = DONE_TO_GUEST.get(operation)
        if done is None or meaning_of(upid.type).risk != "destructive":
            return
        message = f"{_subject(upid, name)} {done} in Proxmox by {upid.user}, without an approval"
        details = {
            "operation": operation,
            "upid": upid.text,
            "node": upid.node,
            "vmid": upid.vmid,
            "name": name,
            "user": upid.userid,
            "token": upid.tokenid,
            "started_at": upid.started_at.isoformat(),
        }
        self.alert(db, upid.text, upid.vmid, message, details, upid.user)

    def alert(
        self, db: AsyncSession, key: str, vmid: int | None, message: str, details: dict[str, Any], by: str
    ) -> None:
        """Add an alert for the dashboard and its notifications to the caller's transaction (key: unique)."""
        db.add(SideDoorAlert(upid=key, vmid=vmid, message=message))
        payload = {
            "event": "observed",
            "title": message,
            "body": f"{message}.\nWhat: {key}\n{self.public_url}/audit?source=proxmox",
            "observed": details,
            "by": by,
            "at": datetime.now(UTC).isoformat(),
        }
        self.notifier.enqueue_message(db, "observed", payload)


def _subject(upid: Upid, name: str | None) -> str:
    """'VM 313 (web1)', 'CT 120', or the task's id when it names no guest."""
    if upid.vmid is None:
        return upid.id or upid.node
    kind = "VM" if upid.type.startswith("qm") else "CT" if upid.type.startswith("vz") else "Guest"
    return f"{kind} {upid.vmid}" + (f" ({name})" if name else "")


def _row(upid: Upid, finished: datetime | None, exitstatus: str | None) -> ObservedTask:
    return ObservedTask(
        upid=upid.text,
        node=upid.node,
        task_type=upid.type[:32],
        vmid=upid.vmid,
        user=upid.user[:128],
        started_at=upid.started_at,
        finished_at=finished,
        exitstatus=exitstatus[:255] if exitstatus else None,
    )
