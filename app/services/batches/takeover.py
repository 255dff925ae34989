"""Carrying on a batch whose process stopped: its sent guests settled, the takeover on the record, and its
waiting guests run in its owner's name (or skipped, saying why, when they may not be)."""

from __future__ import annotations

from app.db.batches import Batch
from app.db.models import Role
from app.services import audit
from app.services.accounts import Principal, acting_for
from app.services.approvals import ApprovalService
from app.services.batches import events, orphans, store
from app.services.batches.runner import Run
from app.services.batches.views import batch_view

# The principal's and the actor's method on a resumed batch's calls: nobody asked again, a process carried on.
RESUMED = "resumed"


async def resumed_run(
    sessions: store.Sessions, approvals: ApprovalService | None, batch_id: str, owner: str
) -> Run | None:
    """After `owner` took the batch over: settle the guests the stopped process had sent, record the "resumed"
    event, and return the run that carries the batch on (with its own concurrency, stop-on-failure and
    approval; each guest is planned again). The guests still running are followed to their end all the same."""
    await orphans.settle_running(sessions, batch_id)
    loaded = await store.load(sessions, batch_id)
    if loaded is None:
        return None
    batch = loaded[0]
    principal, why = await owner_of(sessions, approvals, batch)
    system = audit.Actor(None, "proxgate", "system", batch_id=batch_id)
    await audit.append(sessions, system, events.resumed(batch_view(*loaded), owner, why))
    if principal is None:
        await store.skip_waiting(sessions, batch_id, f"Skipped: {why}.")
        # Nothing is planned any more: the run only follows the guests still running and ends the batch, as the
        # system (the owner's name acts no longer).
        principal, actor = Principal(0, "proxgate", Role.viewer, RESUMED), system
    else:
        actor = audit.Actor(principal.user_id, principal.username, RESUMED, batch_id=batch_id)
    return Run(
        batch_id,
        batch.operation,
        principal,
        actor,
        batch.concurrency,
        batch.stop_on_failure,
        batch.approval_id,
    )


async def owner_of(
    sessions: store.Sessions, approvals: ApprovalService | None, batch: Batch
) -> tuple[Principal | None, str]:
    """The batch's owner as they stand now, and "", or None and why its waiting guests may not run."""
    async with sessions() as db:
        principal = await acting_for(db, batch.created_by_id, RESUMED)
    if principal is None:
        return None, f"{batch.created_by}, who started it, no longer has an active account"
    if not principal.can(Role.operator):
        return None, f"{batch.created_by}, who started it, is {principal.role} now and may not change guests"
    if batch.approval_id is not None and approvals is not None:
        request = await approvals.get(batch.approval_id)
        if request.status != "executing":
            return None, f"its request #{request.id} is {request.status}"
    return principal, ""
