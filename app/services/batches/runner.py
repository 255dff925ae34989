"""Run a batch: its items in order, at most `concurrency` at once, each through the same pipeline as a single
action (plan, role, preflight, audit, perform); a slot is free again only when the item's Proxmox task ended."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.db.batches import BatchMember
from app.db.models import utcnow
from app.proxmox.errors import PveError
from app.services import audit
from app.services.accounts import Principal
from app.services.batches import store
from app.services.errors import AuditUnavailable, OutcomeUnknown, ServiceError
from app.services.pipeline import ActionService

log = logging.getLogger(__name__)
# How often a running item looks whether the task watcher has recorded its task's end.
POLL = 0.4
STOPPED_AFTER_FAILURE = "Skipped: an earlier guest failed and the batch stops after the first failure."
NEVER_SENT = "Proxgate stopped before this guest's change was sent; nothing was sent."
# A guest marked running without an execution may be between its plan and its call in a live process: only
# after this long (more than a call's lease) is it taken as never sent.
CALL_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class Run:
    """What one batch run needs: who asks, from where (carrying the batch id), and how."""

    batch_id: str
    operation: str
    principal: Principal
    actor: audit.Actor
    concurrency: int
    stop_on_failure: bool
    # The approved request the batch carries out: the batch's end finishes it (its items' calls do not).
    approval_id: int | None = None


async def run_batch(
    actions: ActionService,
    sessions: store.Sessions,
    run: Run,
    items: list[BatchMember],
    holds: Callable[[], bool],
) -> str:
    """Run every item, those a stopped process had started first (they hold their slots); no new one starts
    once `holds` turns False (another process took the batch over). How the batch ends: "stopped" when any item
    was skipped, else "done" (the caller records it with the batch's end event)."""
    queue: asyncio.Queue[BatchMember] = asyncio.Queue()
    for item in sorted(items, key=lambda i: i.status != "running"):
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty() and holds():
            item = queue.get_nowait()
            try:
                await run_item(actions, sessions, run, item)
            except Exception:  # one item's trouble (the database, say) must not stop the others
                log.exception("batch %s: guest %s could not be run", run.batch_id, item.vmid)
                await _end(sessions, item, "failed", "Proxgate could not run this guest's part; see its log.")

    await asyncio.gather(*(worker() for _ in range(max(1, min(run.concurrency, len(items))))))
    loaded = await store.load(sessions, run.batch_id)
    skipped = loaded is not None and any(i.status == "skipped" for i in loaded[1])
    return "stopped" if skipped else "done"


async def run_item(actions: ActionService, sessions: store.Sessions, run: Run, item: BatchMember) -> None:
    """One guest: start it unless it was skipped meanwhile, perform, and wait for its task to end."""
    assert item.id is not None  # noqa: S101 (items are read from the database)
    if item.status == "running":
        await follow_item(sessions, run, item)
        return
    if not await store.move_item(sessions, item.id, "waiting", status="running"):
        return  # skipped by a stop, or by an earlier failure
    params = json.loads(item.params)
    try:
        plan = await actions.plan(run.principal, run.actor, run.operation, item.vmid, params)
        result = await actions.perform(plan, run.actor)
        upid, note = result.upid, result.description
    except (OutcomeUnknown, AuditUnavailable) as exc:
        if exc.execution_id is None:
            await _failed(sessions, run, item, exc.message)
            return
        # Proxmox was called: the reconciler finds out what happened; the guest's turn lasts until it has.
        upid, note = None, exc.message
    except ServiceError as exc:
        await _failed(sessions, run, item, exc.message)
        return
    except PveError as exc:
        await _failed(sessions, run, item, f"Proxmox could not be asked: {exc}")
        return
    await store.move_item(sessions, item.id, "running", upid=upid, message=note)
    await _settle(sessions, run, item, note)


async def follow_item(sessions: store.Sessions, run: Run, item: BatchMember) -> None:
    """A guest a stopped process had started: its turn lasts until the task watcher (or the reconciler) has
    ended its execution; without one after the call window, its change was never sent."""
    while await store.execution_of(sessions, run.batch_id, item.vmid) is None:
        if never_sent(item):
            await _failed(sessions, run, item, NEVER_SENT)
            return
        await asyncio.sleep(POLL)
    await _settle(sessions, run, item, item.message)


def never_sent(item: BatchMember) -> bool:
    """True when a guest marked running has had longer than a call could take to open its execution."""
    started = item.started_at or datetime.min.replace(tzinfo=UTC)
    # SQLite gives naive times back (stored as UTC).
    started = started if started.tzinfo else started.replace(tzinfo=UTC)
    return started < utcnow() - CALL_WINDOW


async def _settle(sessions: store.Sessions, run: Run, item: BatchMember, note: str) -> None:
    """Wait for the item's execution to end and end the item as it did."""
    outcome, message, found = await _task_end(sessions, run.batch_id, item.vmid)
    if outcome == "succeeded":
        await _end(sessions, item, "succeeded", message or note, found)
    else:
        await _failed(sessions, run, item, message, found)


async def _task_end(sessions: store.Sessions, batch_id: str, vmid: int) -> tuple[str, str, str | None]:
    """Wait until the item's execution has ended (the task watcher records it): (outcome, message, its task,
    which the reconciler may have found only now)."""
    while True:
        execution = await store.execution_of(sessions, batch_id, vmid)
        if execution is None:
            return "failed", "Proxgate has no record of this guest's call.", None
        if execution.state == "done":
            outcome = execution.outcome or "failed"
            return outcome, ended_message(outcome, execution.exitstatus), execution.upid
        await asyncio.sleep(POLL)


def ended_message(outcome: str, exitstatus: str | None) -> str:
    """How a guest's execution ended, in a few words."""
    if outcome == "succeeded":
        return exitstatus or "OK"
    if outcome == "not-started":
        return "Not started: Proxmox has no task for this call."
    return f"Failed: {exitstatus}" if exitstatus else f"Ended: {outcome}"


async def _failed(
    sessions: store.Sessions, run: Run, item: BatchMember, message: str, upid: str | None = None
) -> None:
    await _end(sessions, item, "failed", message, upid)
    if run.stop_on_failure:
        await store.skip_waiting(sessions, run.batch_id, STOPPED_AFTER_FAILURE)


async def _end(
    sessions: store.Sessions, item: BatchMember, status: str, message: str, upid: str | None = None
) -> None:
    assert item.id is not None  # noqa: S101 (items are read from the database)
    task = {"upid": upid} if upid else {}
    await store.move_item(sessions, item.id, "running", status=status, message=message[:4000], **task)
