"""An execution's life in the database: opened with its intent, started with its UPID, ended once.

Each step writes its audit event in the same transaction as the state change, so the log and the state never
disagree; a start and an end are conditional UPDATEs, so with several processes each is recorded exactly once.
When the database refuses a step's record (AuditUnavailable): before the call nothing is sent; after it, the
row stays 'calling' for the reconciler, with the task's UPID when Proxmox named one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.executions import Execution
from app.db.models import utcnow
from app.services import audit
from app.services.approvals import status as request_status
from app.services.errors import AuditUnavailable

log = logging.getLogger(__name__)
# The states an execution is in before its task is known; only from these is a start recorded.
UNSTARTED = ("calling", "unknown")


@dataclass(frozen=True)
class Step:
    """What an execution is about, as the audit log records it."""

    operation: str
    risk: str
    target: audit.Target
    params: dict[str, object]
    description: str
    approval_id: int | None = None

    def draft(self, outcome: str, message: str | None = None, upid: str | None = None) -> audit.Draft:
        """The audit event for one step."""
        return audit.Draft(
            self.operation,
            self.risk,
            outcome,
            self.target,
            self.params,
            upid=upid,
            message=message if message is not None else self.description,
            approval_id=self.approval_id,
        )


def actor_of(execution: Execution) -> audit.Actor:
    """The person (or token) an execution acts for, as copied into its row."""
    return audit.Actor(
        execution.actor_id,
        execution.actor_name,
        execution.auth_method,
        ip=execution.source_ip,
        user_agent=execution.user_agent,
        request_id=execution.request_id,
        token_name=execution.token_name,
        batch_id=execution.batch_id,
    )


def step_of(execution: Execution, description: str = "") -> Step:
    """An execution's audit identity (parameters were recorded with its intent)."""
    target = audit.Target(execution.node, execution.guest_type, execution.vmid, execution.target_name)
    return Step(execution.operation, execution.risk, target, {}, description, execution.approval_id)


async def open_execution(
    sessions: async_sessionmaker[AsyncSession],
    actor: audit.Actor,
    step: Step,
    task_type: str | None,
    owner: str,
    lease_until: datetime,
) -> Execution:
    """Write the intent and the 'calling' row together; AuditUnavailable (nothing is sent) when that fails."""
    async with audit.recording(sessions) as db:
        await audit.append_in(db, actor, step.draft("intent"))
        execution = Execution(
            node=step.target.node,
            operation=step.operation,
            risk=step.risk,
            guest_type=step.target.guest_type,
            vmid=step.target.vmid,
            target_name=step.target.name,
            task_type=task_type,
            actor_id=actor.id,
            actor_name=actor.name[:64],
            auth_method=actor.method,
            token_name=actor.token_name,
            request_id=actor.request_id[:64],
            source_ip=actor.ip[:64],
            user_agent=actor.user_agent[:255],
            approval_id=step.approval_id,
            batch_id=actor.batch_id,
            lease_owner=owner,
            lease_until=lease_until,
        )
        db.add(execution)
        await db.commit()
        return execution


def unrecorded(
    execution: Execution, description: str, what: str, upid: str | None = None
) -> AuditUnavailable:
    """Proxmox did `what`, but the audit log refused its record: the row stays for the reconciler to complete."""
    log.error("execution %s: %s; not recorded, left to the reconciler", execution.id, what)
    after = f"{what}, but Proxgate could not record it; it will be reconciled"
    return AuditUnavailable(after, execution.id, description, upid)


@contextmanager
def after_call(execution: Execution, description: str, what: str) -> Iterator[None]:
    """Around a record made after Proxmox was called (and did `what`): a refused record raises unrecorded()."""
    try:
        yield
    except AuditUnavailable as exc:
        raise unrecorded(execution, description, what) from exc


async def mark_started(
    sessions: async_sessionmaker[AsyncSession], execution: Execution, step: Step, upid: str, message: str
) -> audit.AuditEvent | None:
    """The task is known: record its UPID and a 'started' event (and the request's UPID), once.

    None when it was recorded already: this row's start by another process, or the task by another row."""
    async with audit.recording(sessions) as db:
        try:
            claimed = await db.exec(
                update(Execution)
                .where(col(Execution.id) == execution.id, col(Execution.state).in_(UNSTARTED))
                .values(upid=upid, state="running", started_at=utcnow(), lease_owner=None, lease_until=None)
            )
        except IntegrityError:  # the UPID is unique: another execution holds this task
            return None
        if claimed.rowcount != 1:
            return None
        event = await audit.append_in(db, actor_of(execution), step.draft("started", message, upid))
        if execution.approval_id is not None:
            await request_status.record_upid(db, execution.approval_id, upid)
        await db.commit()
    execution.upid, execution.state = upid, "running"
    return event


async def keep_upid(sessions: async_sessionmaker[AsyncSession], execution: Execution, upid: str) -> bool:
    """The start could not be recorded: keep its UPID on the row (no event) and hand the row to the reconciler
    now, which records the start once the audit log takes writes again. False when even this is refused
    (the reconciler then finds the task in the node's task list)."""
    try:
        async with sessions() as db:
            await db.exec(
                update(Execution)
                .where(
                    col(Execution.id) == execution.id,
                    col(Execution.state) == "calling",
                    col(Execution.upid).is_(None),
                )
                .values(upid=upid, lease_owner=None, lease_until=utcnow())
            )
            await db.commit()
    except IntegrityError:  # another execution holds this task: it is recorded there
        return True
    except audit.WRITE_REFUSED as exc:
        why = audit.refusal(exc)
        log.error(
            "execution %s started task %s; not even its UPID could be kept: %s", execution.id, upid, why
        )
        return False
    return True


async def mark_unknown(
    sessions: async_sessionmaker[AsyncSession], execution: Execution, step: Step, message: str
) -> audit.AuditEvent:
    """The call's outcome is unknown (no answer, or no UPID): the reconciler looks for the task."""
    async with audit.recording(sessions) as db:
        event = await audit.append_in(db, actor_of(execution), step.draft("unknown", message))
        await db.exec(
            update(Execution)
            .where(col(Execution.id) == execution.id)
            .values(state="unknown", lease_owner=None, lease_until=None)
        )
        await db.commit()
    execution.state = "unknown"
    return event


async def end_execution(
    db: AsyncSession,
    execution: Execution,
    step: Step,
    outcome: str,
    message: str,
    exitstatus: str | None = None,
    from_states: tuple[str, ...] = ("calling", "running", "unknown"),
) -> audit.AuditEvent | None:
    """End it once (conditional UPDATE), write the end event and finish its request; None if already ended.

    Runs in the caller's transaction, which must not have read anything yet (see audit.append_in)."""
    result = await db.exec(
        update(Execution)
        .where(col(Execution.id) == execution.id, col(Execution.state).in_(from_states))
        .values(state="done", outcome=outcome, exitstatus=exitstatus, finished_at=utcnow(), lease_until=None)
    )
    if result.rowcount != 1:
        return None
    event = await audit.append_in(db, actor_of(execution), step.draft(outcome, message, execution.upid))
    if execution.approval_id is not None:
        await request_status.finish(db, execution.approval_id, outcome, exitstatus, message)
    return event


async def end_now(
    sessions: async_sessionmaker[AsyncSession],
    execution: Execution,
    step: Step,
    outcome: str,
    message: str,
    exitstatus: str | None = None,
) -> audit.AuditEvent | None:
    """end_execution in a transaction of its own."""
    async with audit.recording(sessions) as db:
        event = await end_execution(db, execution, step, outcome, message, exitstatus)
        await db.commit()
    return event
