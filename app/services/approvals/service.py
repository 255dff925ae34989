"""The two-person rule: store a request, let another approver decide it, and hand it over to run exactly once.

Every decision is one conditional UPDATE on the request row (status must still be 'pending' and the request
unexpired), so double clicks, two approvers at once or several app processes cannot decide twice. The audit
event and the notifications of a decision are written in the same transaction as the decision itself. Running
what was approved is the pipeline's (app.services.pipeline.approved); status transitions are status.py's alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import Approval, ApprovalRequest
from app.db.executions import Execution
from app.db.models import Role, utcnow
from app.operations.base import Operation, Risk
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals import status
from app.services.approvals.confirmation import confirmation_text, needs_typing
from app.services.approvals.eligibility import approvals_of, candidates, group_refusal, still_needed
from app.services.approvals.policy import ApprovalPolicy
from app.services.approvals.rules import Facts, Freeze
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.notifications import Notifier
from app.services.secrets_in_text import secret_problem

OPEN = ("pending", "executing")
# An 'executing' request without an execution this long after its approval was never sent (a crash between).
ORPHAN_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class RequestedChange:
    """A planned change as a request keeps it: what, on what, with which values, and what it would do."""

    op: Operation
    target: audit.Target
    target_key: str
    values: dict[str, Any]
    description: str
    preview: dict[str, Any]
    warnings: list[str]
    state: dict[str, Any]
    # The risk of this very change (an edit that removes a device is destructive), and what the audit records.
    risk: Risk
    audited: dict[str, Any]
    # A bulk change: the batch that runs it once approved.
    batch_id: str | None = None
    # What the policy file's rules match on (the guest's tags, pool...); the target's alone when not given.
    facts: Facts | None = None

    def policy_facts(self) -> Facts:
        """The facts the policy's rules and freezes are matched against."""
        return self.facts or Facts(
            self.op.name, str(self.risk), node=self.target.node, guest_type=self.target.guest_type
        )


# Requests that ended without running; their requester may ask for the same change again with one click.
ASKED_AGAIN_FROM = ("failed", "expired", "rejected")


def standing(request: ApprovalRequest) -> str:
    """How a request that is no longer pending stands, and who decided it, in a few words."""
    by = f" by {request.decided_by_name}" if request.decided_by_name else ""
    return {
        "scheduled": f"was approved{by} and waits for its maintenance window",
        "executing": f"was approved{by} and is running",
        "succeeded": f"was approved{by} and has run",
        "failed": f"was approved{by} and failed",
        "rejected": f"was rejected{by}",
        "cancelled": f"was cancelled{by}",
        "expired": "expired: nobody decided in time",
    }.get(request.status, f"is {request.status}")


class RequestNotPending(Conflict):
    """The request was already decided (or expired); the answer says how it stands."""

    def __init__(self, request: ApprovalRequest, verb: str, which: str = "a pending request") -> None:
        super().__init__(
            f"Request #{request.id} {standing(request)}; only {which} can be {verb}.",
            extra={"status": request.status},
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def is_expired(request: ApprovalRequest) -> bool:
    """True for a pending request past its expiry (the sweep may not have marked it yet)."""
    return request.status == "pending" and _aware(request.expires_at) <= utcnow()


def refuse_in_freeze(freeze: Freeze | None, verb: str) -> None:
    """Conflict saying which freeze holds and until when, when one does."""
    if freeze is not None:
        until = freeze.until_text
        raise Conflict(
            f"{freeze.name}: no destructive change is {verb} until {until}.", extra={"frozen_until": until}
        )


def comment_text(text: str | None, needed: bool, field: str = "comment") -> str | None:
    value = (text or "").strip()
    if needed and not value:
        raise Invalid(f"Say why in a {field}.", field=field)
    if len(value) > 2000:
        raise Invalid(f"Keep the {field} under 2000 characters.", field=field)
    problem = secret_problem(value, field)
    if problem:
        raise Invalid(problem, field=field)
    return value or None


class ApprovalService:
    """One per app: requests and their decisions; the queries live in queries.py."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], policy: ApprovalPolicy, notifier: Notifier
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.notifier = notifier

    async def audit_policy_changes(self) -> int:
        """Record each new version of the policy file (its diff), or why a broken one was not taken; how many."""
        source = self.policy.source
        if source is None:
            return 0
        source.current()
        source_changes = source.take_changes()
        system = audit.Actor(None, "proxgate", "system")
        for change in source_changes:
            outcome = "refused" if change.error else "succeeded"
            message = change.error or f"policy file {change.path} taken into use"
            draft = audit.Draft(
                "policy-change",
                "admin",
                outcome,
                audit.Target(name=change.path),
                {"diff": change.diff},
                message=message,
            )
            await audit.append(self.sessions, system, draft)
        return len(source_changes)

    async def after_decision(self) -> None:
        """Anchor the audit chain outside the database, so no decision can be quietly taken out of it."""
        await audit.checkpoint_now(self.sessions)

    async def create(
        self,
        change: RequestedChange,
        principal: Principal,
        actor: audit.Actor,
        reason: str | None,
        link_base: str,
    ) -> ApprovalRequest:
        """Store the planned change as a pending request; Conflict when the same change is already open."""
        why = comment_text(reason, needed=True, field="reason")
        await self.audit_policy_changes()
        facts = change.policy_facts()
        refuse_in_freeze(self.policy.freeze_for(facts), "asked for")
        need = self.policy.requirement(change.op, facts)
        window = self.policy.document().window_for(facts)
        now = utcnow()
        request = ApprovalRequest(
            operation=change.op.name,
            risk=change.risk,
            node=change.target.node,
            guest_type=change.target.guest_type,
            vmid=change.target.vmid,
            target_name=change.target.name,
            target_key=change.target_key,
            open_key=f"{change.op.name}|{change.target_key}",
            params=json.dumps(change.values, sort_keys=True),
            reason=why or "",
            description=change.description,
            preview=json.dumps(change.preview, sort_keys=True, default=str),
            warnings=json.dumps(change.warnings),
            fingerprint=json.dumps(change.state, sort_keys=True, default=str),
            required_approvals=need.approvals,
            policy_rule=need.rule,
            required_groups=",".join(sorted(need.groups)),
            own_group_approves=need.own_group_approves,
            requester_groups=",".join(sorted(principal.groups)),
            window_name=window.name if window else None,
            requester_id=principal.user_id,
            requester_name=principal.username,
            requester_method=principal.method,
            requester_token=principal.token_name,
            batch_id=change.batch_id,
            created_at=now,
            expires_at=now + self.policy.ttl,
        )
        async with audit.recording(self.sessions) as db:
            db.add(request)
            try:
                await db.flush()
            except IntegrityError:
                await db.rollback()
                raise await self._already_open(request) from None
            request.url = f"{link_base}/approvals/{request.id}"
            draft = audit.Draft(
                change.op.name,
                change.risk,
                "requested",
                change.target,
                # The seal of exactly what was asked, kept in the chain: the row alone can be edited.
                {**change.audited, audit.SEAL: request.seal()},
                message=why,
                approval_id=request.id,
                batch_id=change.batch_id,
            )
            await audit.append_in(db, actor, draft)
            audience = still_needed(request, []).audience(await candidates(db))
            self.notifier.enqueue(db, "requested", request, actor.name, audience)
            await db.commit()
        return request

    async def _already_open(self, request: ApprovalRequest) -> Conflict:
        async with self.sessions() as db:
            other = (
                await db.exec(select(ApprovalRequest).where(ApprovalRequest.open_key == request.open_key))
            ).first()
        number = f" (#{other.id}, {other.status})" if other else ""
        return Conflict(f"The same change is already requested{number}; decide or cancel that one first.")

    async def get(self, request_id: int) -> ApprovalRequest:
        """The request; a pending one past its expiry is marked expired first."""
        async with self.sessions() as db:
            request = await db.get(ApprovalRequest, request_id)
        if request is None:
            raise NotFound(f"There is no request #{request_id}.")
        if is_expired(request):
            await self.expire(request)
            return await self.get(request_id)
        return request

    async def approve(
        self,
        request_id: int,
        principal: Principal,
        actor: audit.Actor,
        comment: str | None = None,
        confirm: str | None = None,
        seal: str | None = None,
    ) -> ApprovalRequest | None:
        """Add this approver's yes to the request as they were shown it (`seal`: the page's or the API answer's;
        the stored request's own when not given). The last one needed moves it to 'executing' and returns it:
        the caller must now run it (once; no other caller gets it). None while more approvals are needed."""
        request = await self.get(request_id)
        await self._may_approve(request, principal, actor, confirm)
        note = comment_text(comment, needed=False)
        shown = await self._shown(request, actor, seal)
        decided = await self._record_approval(request, principal, actor, note, shown)
        await self.after_decision()
        return decided

    async def _may_approve(
        self, request: ApprovalRequest, principal: Principal, actor: audit.Actor, confirm: str | None
    ) -> None:
        await self._may_decide_by_token(request, principal, actor, "Approving")
        if request.status != "pending":
            raise RequestNotPending(request, "approved")
        own = principal.user_id == request.requester_id
        if not principal.can(Role.approver) and not (own and self.policy.solo):
            await self.deny(request, actor, f"role {principal.role} may not approve")
            raise Forbidden(f"Approving needs the approver role; you are {principal.role}.")
        if own and not self.policy.solo:
            await self.deny(request, actor, "the requester may not approve their own request")
            raise Forbidden("You asked for this change, so another approver has to decide it.")
        if own and utcnow() < _aware(request.created_at) + self.policy.cooling:
            ready = (_aware(request.created_at) + self.policy.cooling).strftime("%H:%M UTC")
            raise Forbidden(f"Two-person rule is off: you can confirm your own request after {ready}.")
        await self._may_approve_for_groups(request, principal, actor)
        if needs_typing(request, own) and (confirm or "").strip() != confirmation_text(request):
            await self.deny(request, actor, "the confirmation did not name the target", "invalid")
            raise Invalid(f"Type {confirmation_text(request)} to confirm.", field="confirm")

    async def _may_approve_for_groups(
        self, request: ApprovalRequest, principal: Principal, actor: audit.Actor
    ) -> None:
        """Refuse an approval the rule cannot count: from the requester's own group when the rule says so, or
        from outside the groups still missing when every approval left is needed for them."""
        async with self.sessions() as db:
            needed = still_needed(request, await approvals_of(db, int(request.id or 0)))
        refusal = group_refusal(request, needed, principal.user_id, principal.groups)
        if refusal is not None:
            await self.deny(request, actor, refusal.audit)
            raise Forbidden(refusal.message)

    async def _shown(self, request: ApprovalRequest, actor: audit.Actor, seal: str | None) -> str:
        """The seal this approval is for; Conflict when the request changed since the approver read it."""
        current = request.seal()
        if seal and seal.strip().lower() != current:
            await self.deny(request, actor, "the request changed since the approver was shown it", "invalid")
            raise Conflict(
                "This request is not the one you were shown: it changed since you opened it. "
                "Reload it, read it again, and decide then.",
                field="seal",
            )
        return current

    async def _may_decide_by_token(
        self, request: ApprovalRequest, principal: Principal, actor: audit.Actor, verb: str
    ) -> None:
        """Deciding is a person's act: a token approves or rejects only when PROXGATE_APPROVE_WITH_TOKENS is
        on and it was made with the approver role (solo mode's self-confirmation included)."""
        if principal.method != "token":
            return
        if not self.policy.tokens_decide:
            await self.deny(request, actor, f"{verb.lower()} with an API token is off")
            raise Forbidden(
                f"{verb} with an API token is off (PROXGATE_APPROVE_WITH_TOKENS=false): "
                "decide in a signed-in browser session."
            )
        if not principal.can(Role.approver):
            await self.deny(request, actor, f"a token acting as {principal.role} may not decide")
            raise Forbidden(
                f"{verb} with an API token needs a token made with the approver role; "
                f"this one acts as {principal.role}."
            )

    async def _record_approval(
        self,
        request: ApprovalRequest,
        principal: Principal,
        actor: audit.Actor,
        comment: str | None,
        seal: str,
    ) -> ApprovalRequest | None:
        """One transaction: count the approval on a still-pending row, store it, and when it is the last one
        needed, move the request to 'executing'. Returns the request if this call must now run it."""
        async with audit.recording(self.sessions) as db:
            count = await status.count_approval(db, int(request.id or 0))
            if count is None:
                await db.rollback()
                raise RequestNotPending(await self.get(int(request.id or 0)), "approved")
            db.add(
                Approval(
                    request_id=int(request.id or 0),
                    user_id=principal.user_id,
                    user_name=principal.username,
                    auth_method=principal.method,
                    comment=comment,
                    seal=seal,
                    groups=",".join(sorted(principal.groups)),
                )
            )
            try:
                await db.flush()
            except IntegrityError:
                await db.rollback()
                raise Conflict(f"You have already approved request #{request.id}.") from None
            needed = still_needed(request, await approvals_of(db, int(request.id or 0)))
            if needed.unreachable:
                # Two approvals at once from outside the groups: the later one cannot count.
                await db.rollback()
                raise Forbidden(
                    f"Request #{request.id} still needs an approver from {', '.join(needed.missing_groups)}."
                )
            last = count >= request.required_approvals
            window = self.policy.window_bounds(request.window_name) if last and request.window_name else None
            if window is not None and window[0] > self.policy.clock.now():
                await status.to_scheduled(db, int(request.id or 0), principal, comment, *window)
                request.status, last = "scheduled", False
            elif last:
                await status.to_executing(db, int(request.id or 0), principal, comment)
                request.status = "executing"
            message = comment or f"approval {count} of {request.required_approvals}"
            approved = self.draft(request, "approved", message)
            await audit.append_in(db, actor, replace(approved, params={**approved.params, audit.SEAL: seal}))
            # Still pending: the message goes to whoever may still complete it; else it is news of a decision.
            audience = needed.audience(await candidates(db)) if request.status == "pending" else None
            self.notifier.enqueue(db, "approved", request, actor.name, audience)
            await db.commit()
        return request if last else None

    async def reject(
        self, request_id: int, principal: Principal, actor: audit.Actor, comment: str | None
    ) -> ApprovalRequest:
        """An approver other than the requester says no, with a reason."""
        request = await self.get(request_id)
        await self._may_decide_by_token(request, principal, actor, "Rejecting")
        if not principal.can(Role.approver):
            await self.deny(request, actor, f"role {principal.role} may not reject")
            raise Forbidden(f"Rejecting needs the approver role; you are {principal.role}.")
        if principal.user_id == request.requester_id:
            raise Forbidden("You asked for this change: cancel it instead of rejecting it.")
        why = comment_text(comment, needed=True)
        return await self._close(request, "rejected", principal, actor, why, "rejected")

    async def cancel(self, request_id: int, principal: Principal, actor: audit.Actor) -> ApprovalRequest:
        """The requester takes a pending request back; the requester or an admin calls off a scheduled one
        before its window opens (whichever of the cancel and the window runner comes first wins)."""
        request = await self.get(request_id)
        own = principal.user_id == request.requester_id
        if not own and not (request.status == "scheduled" and principal.can(Role.admin)):
            await self.deny(request, actor, "only the requester (or an admin, once scheduled) may cancel")
            raise Forbidden(
                "Only the person who asked for this change can cancel it "
                "(an admin too, once it is approved and waits for its maintenance window)."
            )
        why = f"called off before its maintenance window '{request.window_name}'" if request.run_at else None
        return await self._close(request, "cancelled", principal, actor, why, "cancelled", status.CANCELLABLE)

    async def to_ask_again(
        self, request_id: int, principal: Principal, actor: audit.Actor
    ) -> ApprovalRequest:
        """The request, when this person may ask for its change again: its requester, once it ended unrun."""
        request = await self.get(request_id)
        if principal.user_id != request.requester_id:
            await self.deny(request, actor, "only the requester may ask again")
            raise Forbidden("Only the person who asked for this change can ask for it again.")
        if request.status not in ASKED_AGAIN_FROM:
            raise Conflict(
                f"Request #{request.id} is {request.status}; only a failed, expired or rejected request "
                "can be asked again.",
                extra={"status": request.status},
            )
        return request

    async def _close(
        self,
        request: ApprovalRequest,
        outcome: str,
        principal: Principal | None,
        actor: audit.Actor,
        comment: str | None,
        verb: str,
        closable: tuple[str, ...] = ("pending",),
    ) -> ApprovalRequest:
        async with audit.recording(self.sessions) as db:
            if not await status.close(db, int(request.id or 0), outcome, principal, comment, closable):
                await db.rollback()
                which = " or ".join(closable)
                raise RequestNotPending(await self.get(int(request.id or 0)), verb, f"a {which} request")
            request.status = outcome
            await audit.append_in(db, actor, self.draft(request, outcome, comment or verb))
            self.notifier.enqueue(db, outcome, request, actor.name)
            await db.commit()
        await self.after_decision()
        return await self.get(int(request.id or 0))

    async def expire(self, request: ApprovalRequest) -> None:
        """Mark a pending request past its expiry as expired (once, whoever notices first)."""
        async with audit.recording(self.sessions) as db:
            if await status.expire(db, int(request.id or 0)):
                request.status = "expired"
                actor = audit.Actor(None, "proxgate", "system")
                await audit.append_in(db, actor, self.draft(request, "expired", "nobody decided in time"))
                self.notifier.enqueue(db, "expired", request, "proxgate")
            await db.commit()

    async def expire_due(self) -> int:
        """The periodic sweep: expire every pending request past its expiry; returns how many."""
        async with self.sessions() as db:
            due = (
                await db.exec(
                    select(ApprovalRequest).where(
                        ApprovalRequest.status == "pending", col(ApprovalRequest.expires_at) <= utcnow()
                    )
                )
            ).all()
        for request in due:
            await self.expire(request)
        return len(due)

    async def windows_due(self) -> list[ApprovalRequest]:
        """Scheduled requests whose window is open now, moved to 'executing' for the caller to run (each once);
        those whose window passed without running expire."""
        now = self.policy.clock.now()
        async with self.sessions() as db:
            due = (
                await db.exec(
                    select(ApprovalRequest).where(
                        ApprovalRequest.status == "scheduled", col(ApprovalRequest.run_at) <= now
                    )
                )
            ).all()
        opened = []
        system = audit.Actor(None, "proxgate", "system")
        for request in due:
            async with audit.recording(self.sessions) as db:
                if await status.window_opened(db, int(request.id or 0), now):
                    request.status = "executing"
                    opened.append(request)
                    message = f"its maintenance window '{request.window_name}' opened"
                    await audit.append_in(db, system, self.draft(request, "window-opened", message))
                elif await status.window_passed(db, int(request.id or 0), now):
                    request.status = "expired"
                    message = f"its maintenance window '{request.window_name}' passed without it running"
                    await audit.append_in(db, system, self.draft(request, "expired", message))
                    self.notifier.enqueue(db, "expired", request, "proxgate")
                await db.commit()
        return opened

    async def fail(self, request: ApprovalRequest, actor: audit.Actor, why: str) -> None:
        """End an executing request as failed before anything was sent, with the reason, once."""
        async with audit.recording(self.sessions) as db:
            if await status.fail_unsent(db, int(request.id or 0), why):
                request.status = "failed"
                await audit.append_in(db, actor, self.draft(request, "failed", why))
                self.notifier.enqueue(db, "failed", request, actor.name)
            await db.commit()

    async def broken_seal(self, request: ApprovalRequest) -> str | None:
        """Why the stored request is not what was asked and approved, or None when it is."""
        current = request.seal()
        async with self.sessions() as db:
            sealed = await audit.sealed_digest(db, int(request.id or 0))
            shown = (await db.exec(select(Approval.seal).where(Approval.request_id == request.id))).all()
        if sealed is not None and sealed[1] is not None and sealed[1] != current:
            return (
                f"its stored parameters, target or preview no longer match the seal of its request (event "
                f"#{sealed[0]}): they were changed after it was asked"
            )
        if any(seal is not None and seal != current for seal in shown):
            return "an approver was shown a different request than the one stored"
        return None

    async def settle_orphans(self) -> int:
        """Requests left 'executing' with no call recorded (the process stopped in between) end as failed."""
        before = utcnow() - ORPHAN_AFTER
        async with self.sessions() as db:
            called = select(Execution.approval_id).where(col(Execution.approval_id).is_not(None))
            orphans = (
                await db.exec(
                    select(ApprovalRequest)
                    .where(ApprovalRequest.status == "executing", col(ApprovalRequest.executed_at) < before)
                    .where(col(ApprovalRequest.id).not_in(called))
                    # A batch's calls are its items' (without the request's id); the batch ends its request.
                    .where(col(ApprovalRequest.batch_id).is_(None))
                )
            ).all()
        system = audit.Actor(None, "proxgate", "system")
        why = "Proxgate stopped after the approval and before sending it; nothing was sent. Request it again."
        for request in orphans:
            await self.fail(request, system, why)
        return len(orphans)

    async def deny(
        self, request: ApprovalRequest, actor: audit.Actor, why: str, outcome: str = "denied"
    ) -> None:
        await audit.append(self.sessions, actor, self.draft(request, outcome, why))

    @staticmethod
    def draft(request: ApprovalRequest, outcome: str, message: str | None) -> audit.Draft:
        """The audit event of a step in the request's life, linked to it."""
        target = audit.Target(request.node, request.guest_type, request.vmid, request.target_name)
        params: dict[str, Any] = json.loads(request.params)
        return audit.Draft(
            request.operation,
            request.risk,
            outcome,
            target,
            params,
            message=message,
            approval_id=request.id,
            batch_id=request.batch_id,
        )
