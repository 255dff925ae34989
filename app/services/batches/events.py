"""A batch's own audit events: its start (what, how many guests, why) and its end (how each status counted)."""

from __future__ import annotations

from collections.abc import Sequence

from app.db.batches import Batch
from app.operations.base import Operation
from app.operations.catalogue import get_operation
from app.services import audit
from app.services.batches.store import BatchItem
from app.services.batches.views import BatchView


def started(op: Operation, batch: Batch, items: Sequence[BatchItem]) -> audit.Draft:
    """The batch's start: the operation, its guests, how it runs and why."""
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


def ended(view: BatchView) -> audit.Draft:
    """The batch's end: succeeded (every guest), failed (one failed) or stopped, with the counts."""
    counts = view.counts
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    outcome = "stopped" if view.status == "stopped" else ("failed" if counts["failed"] else "succeeded")
    op = get_operation(view.operation)
    risk = op.risk if op is not None else "unknown"
    message = f"Batch {view.id} {view.status}: {summary}"
    return audit.Draft(
        view.operation, risk, outcome, audit.Target(), {"batch": view.id, **counts}, message=message
    )


def stopped(view: BatchView, skipped: int) -> audit.Draft:
    """Someone stopped the batch: how many guests not started yet are skipped."""
    op = get_operation(view.operation)
    risk = op.risk if op is not None else "unknown"
    message = f"Batch {view.id} stopped: {skipped} guest(s) not started are skipped; the running ones finish."
    params = {"batch": view.id, "skipped": skipped}
    return audit.Draft(view.operation, risk, "cancelled", audit.Target(), params, message=message)


def resumed(view: BatchView, owner: str, skipped: str | None) -> audit.Draft:
    """Another process took the batch over from one that stopped: which, and how many guests were left (and, when
    it cannot go on in its owner's name, why the waiting ones are skipped)."""
    op = get_operation(view.operation)
    risk = op.risk if op is not None else "unknown"
    waiting, running = view.counts["waiting"], view.counts["running"]
    message = (
        f"Batch {view.id} resumed by process {owner}: {waiting} guest(s) waiting, {running} still running"
    )
    message += f"; the waiting ones are skipped: {skipped}" if skipped else ""
    params = {"batch": view.id, "process": owner, "waiting": waiting, "running": running}
    return audit.Draft(view.operation, risk, "resumed", audit.Target(), params, message=message)
