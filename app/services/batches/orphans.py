"""A batch left behind by a process that stopped: its guests still marked running are settled from their
executions (the task watcher of any process ends those), so a Stop can end the batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.db.models import utcnow
from app.services.batches import store
from app.services.batches.runner import ended_message

NEVER_SENT = "Proxgate stopped before this guest's change was sent; nothing was sent."
# A guest marked running without an execution may be between its plan and its call in a live process: only
# after this long (more than a call's lease) is it taken as never sent.
CALL_WINDOW = timedelta(minutes=2)


async def settle_running(sessions: store.Sessions, batch_id: str) -> int:
    """End each guest marked running whose execution has ended (or was never opened); how many still run."""
    loaded = await store.load(sessions, batch_id)
    if loaded is None:
        return 0
    left = 0
    for item in loaded[1]:
        if item.status != "running" or item.id is None:
            continue
        execution = await store.execution_of(sessions, batch_id, item.vmid)
        if execution is None and _aware(item.started_at) < utcnow() - CALL_WINDOW:
            await store.move_item(sessions, item.id, "running", status="failed", message=NEVER_SENT)
        elif execution is None:
            left += 1
        elif execution.state == "done":
            outcome = execution.outcome or "failed"
            status = "succeeded" if outcome == "succeeded" else "failed"
            message = ended_message(outcome, execution.exitstatus)
            await store.move_item(
                sessions, item.id, "running", status=status, message=message, upid=execution.upid
            )
        else:
            left += 1
    return left


def _aware(moment: datetime | None) -> datetime:
    """A stored time as UTC (SQLite gives naive ones); long ago when unknown."""
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
