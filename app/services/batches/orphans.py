"""A batch left behind by a process that stopped: its guests still marked running are settled from their
executions (the task watcher of any process ends those), before a Stop ends the batch or a takeover carries it
on."""

from __future__ import annotations

from app.services.batches import store
from app.services.batches.runner import NEVER_SENT, ended_message, never_sent


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
        if execution is None and never_sent(item):
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
