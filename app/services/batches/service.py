"""BatchService: ask one operation of many guests, run it a few at a time, follow it, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from app.db.approvals import ApprovalRequest
from app.db.batches import Batch
from app.db.models import Role
from app.operations.base import Operation
from app.operations.catalogue import get_operation
from app.proxmox.errors import PveError
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals import ApprovalPolicy, ApprovalService
from app.services.approvals import status as request_status
from app.services.batches import asking, checks, events, leases, once, orphans, store, tagging, takeover
from app.services.batches.choices import BulkChoices, bulk_choices
from app.services.batches.runner import Run, run_batch
from app.services.batches.store import BatchItem, Placed
from app.services.batches.views import BatchSummary, BatchView, batch_summary, batch_view
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, UpstreamRefused
from app.services.lease_keeper import RENEWALS
from app.services.pipeline import ActionService

log = logging.getLogger(__name__)
STOPPED_BY = "Skipped: {who} stopped the batch before this guest's turn."
# A request that ended without running: its batch's guests are all skipped, saying so.
UNRUN = ("rejected", "cancelled", "expired", "failed")


class BatchService:
    """One per app: starts batches, runs them in the background, reads and stops them."""

    def __init__(
        self,
        actions: ActionService,
        sessions: store.Sessions,
        concurrency: int = 4,
        approvals: ApprovalService | None = None,
        policy: ApprovalPolicy | None = None,
        lease: timedelta = leases.LEASE,
    ) -> None:
        self.actions = actions
        self.sessions = sessions
        self.concurrency = concurrency
        # Without them (tests of the core) no operation is held back for approval.
        self.approvals = approvals
        self.policy = policy
        self._running: set[asyncio.Task[str]] = set()
        # This process, as the batches it runs name it (their lease) and as a takeover names it.
        self.owner = leases.process_name()
        self.lease = lease

    async def start(
        self,
        principal: Principal,
        operation: str,
        items: Sequence[BatchItem],
        *,
        reason: str,
        source: audit.Actor,
        concurrency: int | None = None,
        stop_on_failure: bool = False,
        kind: str = "bulk",
        meta: dict[str, Any] | None = None,
        link_base: str = "",
        approval: bool = False,
        key: str | None = None,
    ) -> str:
        """Check the whole batch (nothing is sent when anything is wrong), store it and run it; its id.

        An operation the approval policy holds back (or any, with `approval`: the caller's own operation is,
        as empty-node may be) becomes ONE request for the whole batch: the batch waits ("pending", its
        approval_id set) and runs once another person approves it. Operation "tag" runs as `configure`, each
        guest with its own new tags. With a one-time `key`, the same batch sent again by the same person answers
        the first batch's id and starts nothing."""
        batch_id = store.new_batch_id()
        claim = once.Claim(self.sessions, principal.user_id, key, batch_id)
        first = await claim.take(
            operation, once.asked(operation, items, reason, concurrency, stop_on_failure)
        )
        if first is not None:
            return first
        async with claim:  # binds the key to the batch, or frees it when no batch was stored
            if operation == tagging.TAG:
                operation, items, meta = await tagging.as_configure(self.actions, source, items, meta)
            op, placed = await checks.admitted(self.actions, principal, source, operation, items, concurrency)
            batch = Batch(
                id=batch_id,
                kind=kind,
                operation=op.name,
                created_by=principal.username,
                created_by_id=principal.user_id,
                reason=reason,
                concurrency=concurrency or self.concurrency,
                stop_on_failure=stop_on_failure,
                meta=json.dumps(meta or {}, sort_keys=True, default=str),
            )
            actor = replace(source, batch_id=batch.id)
            held = self.policy is not None and (approval or self.policy.needs_approval(op))
            if self.approvals is not None and held:
                await self._ask(principal, actor, op, batch, items, placed, link_base)
                return batch_id
            batch.sqlmodel_update(leases.held(self.owner, self.lease))
            await store.create(self.sessions, batch, items, placed)
            await audit.append(self.sessions, actor, events.started(op, batch, items))
            self.launch(Run(batch.id, op.name, principal, actor, batch.concurrency, stop_on_failure))
            return batch_id

    async def _ask(
        self,
        principal: Principal,
        actor: audit.Actor,
        op: Operation,
        batch: Batch,
        items: Sequence[BatchItem],
        placed: dict[int, Placed],
        link_base: str,
    ) -> None:
        """Plan every guest now and store the batch as one pending request (nothing is sent)."""
        assert self.approvals is not None  # noqa: S101 (only called with approvals)
        if not batch.reason.strip():
            raise Invalid("Say why: a second person decides this change.", field="reason")
        plans = await asking.plan_all(
            self.actions, principal, actor, op, [i for i in items if i.done is None]
        )
        change = asking.requested_change(op, batch.id, plans)
        request = await self.approvals.create(change, principal, actor, batch.reason, link_base)
        batch.status, batch.approval_id = "pending", request.id
        planned = [BatchItem(vmid, values) for vmid, values in change.values["items"]]
        planned += [i for i in items if i.done is not None]
        await store.create(self.sessions, batch, planned, placed)

    async def run_approved(self, request: ApprovalRequest, principal: Principal, actor: audit.Actor) -> None:
        """Run an approved bulk request as its batch, unless it or its guests changed since (then it fails and
        nothing is sent)."""
        assert self.approvals is not None and request.batch_id is not None  # noqa: S101 (set for bulk requests)
        actor = replace(actor, batch_id=request.batch_id)
        loaded = await store.load(self.sessions, request.batch_id)
        why = "its batch is gone" if loaded is None else await self.approvals.broken_seal(request)
        why = why or (asking.mismatch(request, loaded[1]) if loaded is not None else None)
        if why:
            await self._unrun(request, actor, f"Refused: {why}. Nothing was sent to Proxmox.")
            return
        try:
            changes = await asking.drift(self.actions, request)
        except PveError as exc:
            await self._unrun(request, actor, f"Proxmox could not be read ({exc}); nothing was sent.")
            return
        if changes:
            why = "; ".join(changes)
            await self._unrun(
                request, actor, f"The guests changed since the request: {why}. Nothing was sent."
            )
            return
        assert loaded is not None  # noqa: S101 (checked above)
        batch = loaded[0]
        lease = leases.held(self.owner, self.lease)
        await store.set_status(self.sessions, batch.id, "running", from_status="pending", **lease)
        items = [BatchItem(vmid, values) for vmid, values in asking.asked_items(request)]
        op = get_operation(batch.operation)
        if op is not None:
            await audit.append(self.sessions, actor, events.started(op, batch, items))
        run = Run(
            batch.id, batch.operation, principal, actor, batch.concurrency, batch.stop_on_failure, request.id
        )
        self.launch(run)

    async def drift(self, request: ApprovalRequest) -> list[str]:
        """What changed on each guest of a bulk request since it was asked, one sentence each."""
        return await asking.drift(self.actions, request)

    async def _unrun(self, request: ApprovalRequest, actor: audit.Actor, why: str) -> None:
        """The request fails before anything is sent; its batch ends with every guest skipped."""
        assert self.approvals is not None and request.batch_id is not None  # noqa: S101 (bulk requests)
        await self.approvals.fail(request, actor, why)
        await self._close_unrun(request.batch_id, f"Not run: {why}")

    async def _close_unrun(self, batch_id: str, message: str) -> None:
        await store.skip_waiting(self.sessions, batch_id, message)
        await store.set_status(self.sessions, batch_id, "stopped", from_status="pending")

    @property
    def renew_every(self) -> float:
        """Seconds between two renewals of a lease (and between two looks for batches to take over)."""
        return self.lease.total_seconds() / RENEWALS

    def launch(self, run: Run) -> None:
        """Run a stored batch in the background of this process."""
        task = asyncio.create_task(self._run(run), name=f"batch-{run.batch_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, run: Run) -> str:
        loaded = await store.load(self.sessions, run.batch_id)
        if loaded is None:
            return "gone"
        async with leases.keeper(self.sessions, run.batch_id, self.owner, self.lease) as keeper:
            status = await run_batch(self.actions, self.sessions, run, loaded[1], keeper.holds)
        if not keeper.holds():
            return "taken over"  # by a process that thought this one gone: that one ends the batch
        await self._end(run.batch_id, status, run.actor, run.approval_id)
        return status

    async def take_over_expired(self) -> list[str]:
        """Carry on here every running batch whose process stopped renewing its lease (each one is taken by one
        process only); the ids taken."""
        taken = []
        for batch_id in await leases.expired(self.sessions):
            if self._runs(batch_id) or not await leases.take_over(
                self.sessions, batch_id, self.owner, self.lease
            ):
                continue
            try:
                run = await takeover.resumed_run(self.sessions, self.approvals, batch_id, self.owner)
            except (
                Exception
            ):  # the audit log or the database refused: the lease runs out and it is tried again
                log.exception("batch %s could not be taken over", batch_id)
                continue
            if run is not None:
                self.launch(run)
                taken.append(batch_id)
        return taken

    async def _end(self, batch_id: str, status: str, actor: audit.Actor, approval_id: int | None) -> None:
        """End a running batch once (a conditional UPDATE), with its end event and its request's end in the same
        transaction: whoever sees the batch ended finds its whole story."""
        ended = events.ended(replace(await self.get(batch_id), status=status))
        async with audit.recording(self.sessions) as db:
            if await store.set_status_in(db, batch_id, status, from_status="running"):
                await audit.append_in(db, actor, ended)
                if approval_id is not None:
                    await request_status.finish(db, approval_id, ended.outcome, None, ended.message or "")
            await db.commit()

    def _runs(self, batch_id: str) -> bool:
        """True while this process runs the batch."""
        return any(t.get_name() == f"batch-{batch_id}" and not t.done() for t in self._running)

    async def get(self, batch_id: str) -> BatchView:
        """The batch and each guest's part; NotFound when there is no such batch."""
        loaded = await store.load(self.sessions, batch_id)
        if loaded is None:
            raise NotFound(f"There is no batch {batch_id}.")
        batch = loaded[0]
        if self._waits_on_request(batch):
            assert self.approvals is not None and batch.approval_id is not None  # noqa: S101 (just checked)
            request = await self.approvals.get(batch.approval_id)
            if request.status in UNRUN:
                by = f" by {request.decided_by_name}" if request.decided_by_name else ""
                why = f": {request.result_message}" if request.status == "failed" else ""
                await self._close_unrun(
                    batch_id, f"Not run: request #{request.id} was {request.status}{by}{why}"
                )
                return await self.get(batch_id)
        return batch_view(*loaded)

    async def stop(self, batch_id: str, principal: Principal, source: audit.Actor | None = None) -> BatchView:
        """Skip every guest not started yet; the running ones finish. Conflict once the batch has ended.
        The stop is on the record, by `source` (or the principal, without an address)."""
        view = await self.get(batch_id)
        if not principal.can(Role.operator):
            raise Forbidden(f"Stopping a batch needs the operator role; you are {principal.role}.")
        if view.status != "running":
            raise Conflict(f"Batch {batch_id} is {view.status}: there is nothing left to stop.")
        skipped = await store.skip_waiting(self.sessions, batch_id, STOPPED_BY.format(who=principal.username))
        actor = source or audit.Actor(principal.user_id, principal.username, principal.method)
        await audit.append(self.sessions, replace(actor, batch_id=batch_id), events.stopped(view, skipped))
        if not self._runs(batch_id) and not await orphans.settle_running(self.sessions, batch_id):
            # Left behind by a process that stopped (or run by another that ends it first: the end is once).
            system = audit.Actor(None, "proxgate", "system", batch_id=batch_id)
            await self._end(batch_id, "stopped", system, view.approval_id)
        return await self.get(batch_id)

    async def choices(self, operation: str, vmids: Sequence[int]) -> BulkChoices:
        """What the bulk form of `operation` offers for these guests (their shared snapshots when it names one)."""
        op = get_operation(operation)
        named = op is not None and "snapname" in op.params.model_fields and op.name != "snapshot"
        try:
            return await bulk_choices(self.actions.pve, vmids, with_snapshots=named)
        except PveError as exc:
            raise UpstreamRefused(f"Proxmox could not be read: {exc}") from None

    def _waits_on_request(self, batch: Batch) -> bool:
        """A batch held back by its approval request, which may have ended without running it."""
        return batch.status == "pending" and batch.approval_id is not None and self.approvals is not None

    async def list_recent(self, limit: int = 20, kind: str | None = None) -> list[BatchView]:
        """The newest batches with their guests, newest first: two queries, and one more look for each batch
        whose approval request may have ended unrun (get closes it)."""
        loaded = await store.load_recent(self.sessions, limit, kind)
        return [
            await self.get(batch.id) if self._waits_on_request(batch) else batch_view(batch, items)
            for batch, items in loaded
        ]

    async def summaries(self, limit: int) -> list[BatchSummary]:
        """The newest batches of every kind with their guests' counts, newest first (two queries in all)."""
        batches = await store.recent(self.sessions, limit)
        counts = await store.item_counts(self.sessions, [b.id for b in batches])
        return [batch_summary(b, counts[b.id]) for b in batches]

    async def close(self) -> None:
        """Stop running batches in this process (their started tasks are followed by the task watcher) and let go
        of them, so another process carries them on at once."""
        for task in list(self._running):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await leases.release(self.sessions, self.owner)
