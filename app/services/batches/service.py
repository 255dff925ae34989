"""BatchService: ask one operation of many guests, run it a few at a time, follow it, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from app.db.batches import Batch
from app.db.models import Role
from app.operations.base import Operation
from app.operations.catalogue import get_operation
from app.proxmox.errors import PveError
from app.services import audit
from app.services.accounts import Principal
from app.services.batches import store
from app.services.batches.runner import Run, run_batch
from app.services.batches.store import BatchItem, Placed
from app.services.batches.views import BatchView, batch_view
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, UpstreamRefused
from app.services.pipeline import ActionService, first_error

log = logging.getLogger(__name__)
MAX_ITEMS = 1000
MAX_CONCURRENCY = 32
STOPPED_BY = "Skipped: {who} stopped the batch before this guest's turn."


class BatchService:
    """One per app: starts batches, runs them in the background, reads and stops them."""

    def __init__(self, actions: ActionService, sessions: store.Sessions, concurrency: int = 4) -> None:
        self.actions = actions
        self.sessions = sessions
        self.concurrency = concurrency
        self._running: set[asyncio.Task[str]] = set()

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
    ) -> str:
        """Check the whole batch (nothing is sent when anything is wrong), store it and run it; its id."""
        op = await self.admit(principal, source, operation, items, concurrency)
        placed = await self.place(source, op, items)
        batch = Batch(
            id=store.new_batch_id(),
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
        await store.create(self.sessions, batch, items, placed)
        await audit.append(self.sessions, actor, _started_draft(op, batch, items))
        self.launch(Run(batch.id, op.name, principal, actor, batch.concurrency, stop_on_failure))
        return batch.id

    async def admit(
        self,
        principal: Principal,
        source: audit.Actor,
        operation: str,
        items: Sequence[BatchItem],
        concurrency: int | None = None,
    ) -> Operation:
        """The operation, once the role, the items' number and every item's parameters are right."""
        op = get_operation(operation)
        if op is None or op.target != "guest":
            raise Invalid(f"'{operation}' is not an operation on guests.", field="operation")
        if not principal.can(Role.operator):
            await self.actions.deny(
                source, op, audit.Target(), {}, f"role {principal.role} may not change anything"
            )
            raise Forbidden(f"{op.label} needs the operator role; you are {principal.role}.")
        if not items:
            raise Invalid("Choose at least one guest.", field="vmids")
        if len(items) > MAX_ITEMS:
            raise Invalid(f"At most {MAX_ITEMS} guests at once.", field="vmids")
        vmids = [item.vmid for item in items]
        if len(set(vmids)) != len(vmids):
            twice = sorted({v for v in vmids if vmids.count(v) > 1})
            raise Invalid(f"Each guest once: {', '.join(map(str, twice))} is named twice.", field="vmids")
        if concurrency is not None and not 1 <= concurrency <= MAX_CONCURRENCY:
            raise Invalid(f"Concurrency must be 1–{MAX_CONCURRENCY}.", field="concurrency")
        for item in items:
            try:
                op.params.model_validate(dict(item.params))
            except ValidationError as exc:
                message, where = first_error(exc)
                raise Invalid(f"Guest {item.vmid}: {message}", field=where) from None
        return op

    async def place(
        self, source: audit.Actor, op: Operation, items: Sequence[BatchItem]
    ) -> dict[int, Placed]:
        """Each guest's name and node; Invalid naming `vmids` when one does not exist or cannot take `op`."""
        try:
            view = await self.actions.pve.cluster_resources()
            missing = [i.vmid for i in items if view.guest(i.vmid) is None]
            if missing:  # made since the view was read? read it once more
                view = await self.actions.pve.resources_holding(missing[0])
        except PveError as exc:
            raise UpstreamRefused(f"Proxmox could not be read: {exc}") from None
        placed: dict[int, Placed] = {}
        for item in items:
            guest = view.guest(item.vmid)
            if guest is None:
                raise Invalid(f"There is no guest {item.vmid}.", field="vmids")
            if guest.type not in op.guest_types:
                kind = "containers" if guest.type == "lxc" else "VMs"
                raise Invalid(f"{op.label} is not available for {kind} ({item.vmid}).", field="vmids")
            placed[item.vmid] = Placed(guest.name, guest.node)
        return placed

    def launch(self, run: Run) -> None:
        """Run a stored batch in the background of this process."""
        task = asyncio.create_task(self._run(run), name=f"batch-{run.batch_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, run: Run) -> str:
        loaded = await store.load(self.sessions, run.batch_id)
        if loaded is None:
            return "gone"
        status = await run_batch(self.actions, self.sessions, run, loaded[1])
        final = await self.get(run.batch_id)
        await audit.append(self.sessions, run.actor, _ended_draft(final))
        return status

    async def get(self, batch_id: str) -> BatchView:
        """The batch and each guest's part; NotFound when there is no such batch."""
        loaded = await store.load(self.sessions, batch_id)
        if loaded is None:
            raise NotFound(f"There is no batch {batch_id}.")
        return batch_view(*loaded)

    async def stop(self, batch_id: str, principal: Principal) -> BatchView:
        """Skip every guest not started yet; the running ones finish. Conflict once the batch has ended."""
        view = await self.get(batch_id)
        if not principal.can(Role.operator):
            raise Forbidden(f"Stopping a batch needs the operator role; you are {principal.role}.")
        if view.status != "running":
            raise Conflict(f"Batch {batch_id} is {view.status}: there is nothing left to stop.")
        await store.skip_waiting(self.sessions, batch_id, STOPPED_BY.format(who=principal.username))
        return await self.get(batch_id)

    async def list_recent(self, limit: int = 20, kind: str | None = None) -> list[BatchView]:
        """The newest batches (without their items' details beyond status), newest first."""
        batches = await store.recent(self.sessions, limit, kind)
        return [await self.get(b.id) for b in batches]

    async def close(self) -> None:
        """Stop running batches in this process (their started tasks are followed by the task watcher)."""
        for task in list(self._running):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait(self, batch_id: str) -> None:
        """Wait until this process has run the batch to its end (tests, the command line)."""
        for task in list(self._running):
            if task.get_name() == f"batch-{batch_id}":
                await task


def _started_draft(op: Operation, batch: Batch, items: Sequence[BatchItem]) -> audit.Draft:
    vmids = [item.vmid for item in items]
    message = f"Batch {batch.id}: {op.label.lower()} {len(vmids)} guest(s); reason: {batch.reason or '—'}"
    params = {
        "batch": batch.id,
        "kind": batch.kind,
        "vmids": vmids,
        "concurrency": batch.concurrency,
        "stop_on_failure": batch.stop_on_failure,
    }
    return audit.Draft(op.name, op.risk, "started", audit.Target(), params, message=message)


def _ended_draft(view: BatchView) -> audit.Draft:
    counts = view.counts
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    outcome = "stopped" if view.status == "stopped" else ("failed" if counts["failed"] else "succeeded")
    op = get_operation(view.operation)
    risk = op.risk if op is not None else "unknown"
    message = f"Batch {view.id} {view.status}: {summary}"
    return audit.Draft(
        view.operation, risk, outcome, audit.Target(), {"batch": view.id, **counts}, message=message
    )
