"""The front door for every change: plan it, then perform it now or store it as a request for approval.

A client may send a one-time key with a change (forms do; the API takes an Idempotency-Key header): a repeat
of the same key gets the first answer back instead of a second guest, backup or request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import ApprovalRequest, IdempotencyKey
from app.db.executions import Execution
from app.db.models import Role, utcnow
from app.operations.catalogue import get_operation
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals import ApprovalPolicy, ApprovalService, break_glass
from app.services.errors import AuditUnavailable, Conflict, OutcomeUnknown
from app.services.pipeline import keys
from app.services.pipeline.actions import ActionResult, ActionService
from app.services.pipeline.approved import run_approved
from app.services.pipeline.policy_check import PolicyAnswer, policy_check

OTHER_VALUES = "This form was already sent with other values; reload the page to send it again."
# How long a one-time key answers with its first result; forms and retries come back within minutes.
KEY_KEPT = timedelta(days=1)
# Runs an approved bulk request as its batch (the batches service, which sits above the pipeline, sets it).
BatchRunner = Callable[[ApprovalRequest, Principal, audit.Actor], Awaitable[None]]


@dataclass
class Submitted:
    """Either the action that ran now, or the request that waits for approval."""

    result: ActionResult | None = None
    request: ApprovalRequest | None = None


def request_hash(name: str, vmid: int | None, raw: Mapping[str, Any]) -> str:
    """A digest of what was asked, to tell a repeat from a different change under the same key."""
    text = json.dumps([name, vmid, {str(k): str(v) for k, v in raw.items()}], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Gate:
    """Plan, then perform now or request approval; one instance per app."""

    def __init__(
        self,
        actions: ActionService,
        approvals: ApprovalService,
        policy: ApprovalPolicy,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.actions = actions
        self.approvals = approvals
        self.policy = policy
        self.sessions = sessions
        self.run_batch: BatchRunner | None = None

    async def submit(
        self,
        principal: Principal,
        actor: audit.Actor,
        name: str,
        vmid: int | None,
        raw: Mapping[str, Any],
        link_base: str,
        key: str | None = None,
    ) -> Submitted:
        """Run the operation now, or store it as a request when the policy wants a second person."""
        values = dict(raw)
        reason = values.pop("reason", None)
        if not key:
            return await self._submit(principal, actor, name, vmid, values, reason, link_base)
        keys.check_key(key)
        digest = request_hash(name, vmid, raw)
        replay = await self._claim(principal.user_id, key, name, digest)
        if replay is not None:
            return replay
        try:
            submitted = await self._submit(principal, actor, name, vmid, values, reason, link_base)
        except (OutcomeUnknown, AuditUnavailable) as exc:
            if exc.execution_id is None:
                await keys.release(self.sessions, principal.user_id, key)
                raise
            # The change may have been made: the key stays bound to this call, never to a second one.
            bound = {"execution_id": exc.execution_id, "description": exc.description}
            await keys.bind(self.sessions, principal.user_id, key, bound)
            raise
        except BaseException:
            await keys.release(self.sessions, principal.user_id, key)
            raise
        await self._remember(principal.user_id, key, submitted)
        return submitted

    async def ask_again(
        self,
        request_id: int,
        principal: Principal,
        actor: audit.Actor,
        link_base: str,
        key: str | None = None,
    ) -> Submitted:
        """Submit an ended request's change again, as its requester: same operation, values and reason."""
        old = await self.approvals.to_ask_again(request_id, principal, actor)
        if old.batch_id is not None:
            raise Conflict(
                "A bulk change is asked again from the guest list, choosing its guests as they are now."
            )
        op = get_operation(old.operation)
        vmid = old.vmid if op is not None and op.target == "guest" else None
        raw = {**json.loads(old.params), "reason": old.reason}
        return await self.submit(principal, actor, old.operation, vmid, raw, link_base, key)

    async def _submit(
        self,
        principal: Principal,
        actor: audit.Actor,
        name: str,
        vmid: int | None,
        values: dict[str, Any],
        reason: Any,
        link_base: str,
    ) -> Submitted:
        plan = await self.actions.plan(principal, actor, name, vmid, values)
        if self.policy.needs_approval(plan.op, plan.risk, plan.facts):
            why = reason if isinstance(reason, str) else None
            change = plan.requested_change()
            return Submitted(request=await self.approvals.create(change, principal, actor, why, link_base))
        return Submitted(result=await self.actions.perform(plan, actor))

    async def break_glass(
        self, request_id: int, principal: Principal, actor: audit.Actor, reason: str | None
    ) -> ApprovalRequest:
        """An admin runs a pending request at once (marked, reviewed after), in a freeze too; returns it."""
        decided = await break_glass(self.approvals, request_id, principal, actor, reason)
        if decided.batch_id is not None and self.run_batch is not None:
            await self.run_batch(decided, principal, actor)
        else:
            await run_approved(self.actions, self.approvals, decided, principal, actor, in_freeze=True)
        return await self.approvals.get(request_id)

    async def run_windows_due(self) -> int:
        """Run each approved request whose maintenance window has opened (checked against its target now, as
        every approved request is); returns how many were started."""
        opened = await self.approvals.windows_due()
        for request in opened:
            # It runs as the approver whose approval completed it, with the operator's rights to change things.
            principal = Principal(
                int(request.decided_by_id or 0),
                request.decided_by_name or "proxgate",
                Role.operator,
                "window",
            )
            actor = audit.Actor(None, "proxgate", "system")
            if request.batch_id is not None and self.run_batch is not None:
                await self.run_batch(request, principal, actor)
            else:
                await run_approved(self.actions, self.approvals, request, principal, actor)
        return len(opened)

    async def policy_check(self, name: str, vmid: int | None) -> PolicyAnswer:
        """What the operation on this guest would need now: rule, approvals, groups, any freeze."""
        await self.approvals.audit_policy_changes()
        return await policy_check(self.actions, self.policy, name, vmid)

    async def approve(
        self,
        request_id: int,
        principal: Principal,
        actor: audit.Actor,
        comment: str | None = None,
        confirm: str | None = None,
        seal: str | None = None,
    ) -> ApprovalRequest:
        """Add this approver's yes; when it is the last one needed, run the request (once) and return it."""
        decided = await self.approvals.approve(request_id, principal, actor, comment, confirm, seal)
        if decided is not None and decided.batch_id is not None and self.run_batch is not None:
            await self.run_batch(decided, principal, actor)
        elif decided is not None:
            await run_approved(self.actions, self.approvals, decided, principal, actor)
        return await self.approvals.get(request_id)

    async def _claim(self, user_id: int, key: str, name: str, digest: str) -> Submitted | None:
        """Reserve the key; None when it is new, the first answer when it was used before."""
        stored = await keys.claim(self.sessions, user_id, key, name, digest, OTHER_VALUES)
        if stored is None:
            return None
        async with self.sessions() as db:
            return await self._replayed(db, stored)

    async def _replayed(self, db: AsyncSession, stored: dict[str, Any]) -> Submitted:
        if stored.get("request_id") is not None:
            request = await db.get(ApprovalRequest, stored["request_id"])
            return Submitted(request=request)
        if "execution_id" in stored:
            upid = await self._outcome_of(db, stored["execution_id"])
            return Submitted(result=ActionResult(upid, 0, stored.get("description", "")))
        return Submitted(result=ActionResult(**stored["result"]))

    async def _outcome_of(self, db: AsyncSession, execution_id: int | None) -> str | None:
        """The task of a first call whose outcome was unknown, found out since; Conflict while it is not."""
        execution = await db.get(Execution, execution_id) if execution_id is not None else None
        if execution is None or execution.state in ("calling", "unknown"):
            raise Conflict(
                "The first attempt reached Proxmox without an answer; whether it was carried out is still "
                "being found out. Nothing is sent again: ask again in a minute."
            )
        if execution.outcome in ("failed", "not-started"):
            what = "was not carried out" if execution.outcome == "not-started" else "failed"
            detail = f" ({execution.exitstatus})" if execution.exitstatus else ""
            raise Conflict(f"The first attempt {what}{detail}; send the change again as a new one.")
        return execution.upid

    async def _remember(self, user_id: int, key: str, submitted: Submitted) -> None:
        stored = (
            {"request_id": submitted.request.id}
            if submitted.request is not None
            else {"result": asdict(submitted.result) if submitted.result else None}
        )
        await keys.bind(self.sessions, user_id, key, stored)


async def forget_old_keys(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Delete one-time keys older than KEY_KEPT (the table would otherwise only grow)."""
    async with sessions() as db:
        await db.exec(delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < utcnow() - KEY_KEPT))
        await db.commit()
