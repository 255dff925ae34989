"""Break-glass: an admin runs a pending request at once, with a reason, and another person reviews it after.

Only a person signed in to the browser may break the glass: never an API token (an agent's or the requester's
own). The run is marked on the request and in the audit log, every notification target (each group's channel
too) hears of it, addressed to everyone with the approver role, and the request stays "needs review" until
someone other than the admin who ran it and the person who asked for it has looked at it.
"""

from __future__ import annotations

from app.db.approvals import ApprovalRequest
from app.db.models import Role
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals import status
from app.services.approvals.eligibility import break_glass_audience, candidates
from app.services.approvals.service import ApprovalService, RequestNotPending, comment_text
from app.services.errors import Conflict, Forbidden


async def break_glass(
    service: ApprovalService, request_id: int, principal: Principal, actor: audit.Actor, reason: str | None
) -> ApprovalRequest:
    """Move a pending request to 'executing' at once, marked; the caller runs it. Forbidden for non-admins and
    for API tokens."""
    request = await service.get(request_id)
    if principal.method != "session":
        await service.deny(request, actor, "break-glass is not available to API tokens")
        raise Forbidden("Break-glass is a person's act in a signed-in browser session, never an API token's.")
    if not principal.can(Role.admin):
        await service.deny(request, actor, f"role {principal.role} may not break the glass")
        raise Forbidden(f"Break-glass needs the admin role; you are {principal.role}.")
    why = comment_text(reason, needed=True, field="reason")
    async with audit.recording(service.sessions) as db:
        if not await status.break_glass(db, request_id, principal, why or ""):
            await db.rollback()
            raise RequestNotPending(await service.get(request_id), "run by break-glass")
        request.status = "executing"
        await audit.append_in(db, actor, service.draft(request, "break-glass", why))
        audience = break_glass_audience(await candidates(db))
        service.notifier.enqueue(db, "break-glass", request, actor.name, audience)
        await db.commit()
    await service.after_decision()
    return await service.get(request_id)


async def review(
    service: ApprovalService, request_id: int, principal: Principal, actor: audit.Actor, comment: str | None
) -> ApprovalRequest:
    """An approver or admin other than the one who broke the glass and the requester reviews the run, with a
    comment."""
    request = await service.get(request_id)
    if not principal.can(Role.approver):
        raise Forbidden(f"Reviewing a break-glass run needs the approver role; you are {principal.role}.")
    if request.break_glass_by_id is None:
        raise Conflict(f"Request #{request_id} was not run by break-glass; there is nothing to review.")
    if principal.user_id == request.break_glass_by_id:
        await service.deny(request, actor, "the admin who broke the glass may not review it")
        raise Forbidden("You broke the glass on this request: someone else has to review it.")
    if principal.user_id == request.requester_id:
        await service.deny(request, actor, "the requester may not review a break-glass run of their request")
        raise Forbidden("You asked for this change: someone else has to review its break-glass run.")
    note = comment_text(comment, needed=True)
    async with audit.recording(service.sessions) as db:
        if not await status.review(db, request_id, principal, note or ""):
            await db.rollback()
            raise Conflict(f"Request #{request_id} was reviewed already.")
        await audit.append_in(db, actor, service.draft(request, "reviewed", note))
        service.notifier.enqueue(db, "reviewed", request, actor.name)
        await db.commit()
    await service.after_decision()
    return await service.get(request_id)
