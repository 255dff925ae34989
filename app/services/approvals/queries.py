"""Reading requests: lists by status, one request with its approvals, counts for the navigation badge."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import Approval, ApprovalRequest
from app.db.models import utcnow
from app.operations.catalogue import get_operation
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals.confirmation import confirmation_text, loses_data
from app.services.approvals.eligibility import (
    Candidate,
    StillNeeded,
    approvers_seen_by,
    group_refusal,
    still_needed,
)
from app.services.approvals.rules import split_groups

STATUSES = ("pending", "scheduled", "executing", "succeeded", "failed", "rejected", "cancelled", "expired")
OPEN_STATUSES = ("pending", "scheduled", "executing")
# Not a status of its own: a break-glass run nobody reviewed yet, whatever its status.
NEEDS_REVIEW = "needs-review"


@dataclass
class RequestView:
    """A request with its stored JSON decoded and its approvals, as pages and the API show it."""

    row: ApprovalRequest
    approvals: list[Approval] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The operation's label from the catalogue."""
        op = get_operation(self.row.operation)
        return op.label if op else self.row.operation

    @property
    def params(self) -> dict[str, Any]:
        """The exact parameters that will be sent."""
        return dict(json.loads(self.row.params))

    @property
    def shown_params(self) -> dict[str, Any]:
        """The parameters as people and the API see them: secrets (an edit's cipassword) hidden."""
        return audit.redact(self.params)

    @property
    def preview(self) -> dict[str, Any]:
        """What the change does, as read when it was requested."""
        return dict(json.loads(self.row.preview))

    @property
    def warnings(self) -> list[str]:
        """The preflight's warnings at request time."""
        return list(json.loads(self.row.warnings))

    @property
    def seal(self) -> str:
        """The digest of exactly what was asked (see ApprovalRequest.seal); an approval names the one it saw."""
        return self.row.seal()

    @property
    def state(self) -> dict[str, Any]:
        """The target's state at request time."""
        return dict(json.loads(self.row.fingerprint))

    @property
    def required_groups(self) -> list[str]:
        """The groups an approver must come from, one approver at least from each."""
        return sorted(split_groups(self.row.required_groups))

    @property
    def needed(self) -> StillNeeded:
        """What the request still needs: approvals left, groups missing, who cannot give them."""
        return still_needed(self.row, self.approvals)

    def approve_refusal(self, user_id: int, groups: frozenset[str]) -> str | None:
        """Why this approver's yes would not count now (they gave theirs, or the rule needs someone else), or
        None: the page offers the approve button only when it would count."""
        needed = self.needed
        if user_id in needed.approved_by:
            missing, left = needed.missing_groups, needed.approvals
            rest = (
                f"it still needs an approver from {', '.join(missing)}"
                if missing
                else f"it waits for {left} more approval{'s' if left > 1 else ''} from someone else"
            )
            return f"You approved this request; {rest}."
        refusal = group_refusal(self.row, needed, user_id, groups)
        return refusal.message if refusal else None

    @property
    def who_may_approve(self) -> str:
        """Who may still approve, in a sentence (empty once nobody need)."""
        needed = self.needed
        if not needed.approvals:
            return ""
        who = "an approver other than the requester"
        if needed.excluded_groups:
            who += f", outside their groups ({', '.join(sorted(needed.excluded_groups))})"
        missing = list(needed.missing_groups)
        if needed.only_from_groups:
            who += (
                f", in {' or '.join(missing)}" if len(missing) == 1 else f", in each of {', '.join(missing)}"
            )
        elif missing:
            who += f"; at least one of them in each of {', '.join(missing)}"
        done = [a.user_name for a in self.approvals]
        others = f" (not {', '.join(done)}, who approved already)" if done else ""
        left = needed.approvals
        return f"{left} more approval{'s' if left > 1 else ''}: {who}{others}."

    def still_needed_json(self, people: Sequence[Candidate] | None) -> dict[str, Any]:
        """The API's `still_needed`: approvals left, the groups still missing and, for a caller who may see
        them (`people` given), the usernames of each group's members who may still approve."""
        needed = self.needed
        members = needed.members(people) if people is not None else {}
        return {
            "approvals": needed.approvals,
            "only_from_groups": needed.only_from_groups,
            "groups": [
                {"name": group, "members": members.get(group) if people is not None else None}
                for group in (needed.missing_groups if needed.approvals else ())
            ],
            "people": needed.people(people) if people is not None else None,
        }

    def as_json(self, people: Sequence[Candidate] | None = None) -> dict[str, Any]:
        """The request as GET /api/v1/requests/{id} answers it; who may still approve it by name only when
        `people` (every possible approver) is given: to a caller with the approver role."""
        r = self.row
        return {
            "id": r.id,
            "operation": r.operation,
            "label": self.label,
            "risk": r.risk,
            "status": r.status,
            "target": {"node": r.node, "type": r.guest_type, "vmid": r.vmid, "name": r.target_name},
            "parameters": self.shown_params,
            "reason": r.reason,
            "description": r.description,
            "preview": self.preview,
            "warnings": self.warnings,
            "state_at_request": self.state,
            "requested": {
                "by": r.requester_name,
                "method": r.requester_method,
                "token": r.requester_token,
                "at": r.created_at,
            },
            "expires_at": r.expires_at,
            "required_approvals": r.required_approvals,
            "policy": {
                "rule": r.policy_rule,
                "groups": self.required_groups,
                "own_group_approves": r.own_group_approves,
                "missing_groups": list(self.needed.missing_groups),
                "may_still_approve": self.who_may_approve or None,
            },
            "still_needed": self.still_needed_json(people),
            "approvals": [
                {
                    "by": a.user_name,
                    "method": a.auth_method,
                    "comment": a.comment,
                    "at": a.at,
                    "seal": a.seal,
                    "groups": sorted(split_groups(a.groups)),
                }
                for a in self.approvals
            ],
            "window": {"name": r.window_name, "run_at": r.run_at, "run_until": r.run_until}
            if r.window_name
            else None,
            "break_glass": {
                "by": r.break_glass_by,
                "reason": r.break_glass_reason,
                "reviewed_by": r.reviewed_by,
                "reviewed_at": r.reviewed_at,
                "review": r.review_comment,
            }
            if r.break_glass_by
            else None,
            "decided": {"by": r.decided_by_name, "at": r.decided_at, "comment": r.decision_comment}
            if r.decided_at
            else None,
            "executed_at": r.executed_at,
            "finished_at": r.finished_at,
            "upid": r.upid,
            "result": {"exitstatus": r.exitstatus, "message": r.result_message} if r.finished_at else None,
            "url": r.url,
            "seal": self.seal,
            "confirm": confirmation_text(r) if loses_data(r) else None,
        }


async def request_view(db: AsyncSession, request: ApprovalRequest) -> RequestView:
    """The request with its approvals, oldest first."""
    return (await request_views(db, [request]))[0]


async def request_answer(db: AsyncSession, principal: Principal, request: ApprovalRequest) -> dict[str, Any]:
    """The request as the API answers it to this caller (who may still approve by name for approvers)."""
    return (await request_view(db, request)).as_json(await approvers_seen_by(db, principal))


async def request_views(db: AsyncSession, requests: list[ApprovalRequest]) -> list[RequestView]:
    """The requests with their approvals, oldest first, in one query (a list page shows hundreds)."""
    ids = [r.id for r in requests]
    by_request: dict[int | None, list[Approval]] = {}
    if ids:
        query = select(Approval).where(col(Approval.request_id).in_(ids)).order_by(col(Approval.id))
        for approval in (await db.exec(query)).all():
            by_request.setdefault(approval.request_id, []).append(approval)
    return [RequestView(r, by_request.get(r.id, [])) for r in requests]


def unreviewed() -> ColumnElement[bool]:
    """The condition of a break-glass run nobody reviewed yet."""
    return and_(
        col(ApprovalRequest.break_glass_by_id).is_not(None), col(ApprovalRequest.reviewed_at).is_(None)
    )


async def reviews_due(db: AsyncSession) -> int:
    """How many break-glass runs wait for their review."""
    return int((await db.exec(select(func.count()).select_from(ApprovalRequest).where(unreviewed()))).one())


async def list_requests(
    db: AsyncSession,
    statuses: tuple[str, ...] = (),
    limit: int = 50,
    before: int | None = None,
    vmid: int | None = None,
    requester_id: int | None = None,
    needs_review: bool = False,
) -> tuple[list[ApprovalRequest], int, int | None]:
    """Requests newest first (keyset paging by id), their total, and the id to continue before; only break-glass
    runs nobody reviewed yet with needs_review."""
    query = select(ApprovalRequest)
    counting = select(func.count()).select_from(ApprovalRequest)
    if needs_review:
        query, counting = query.where(unreviewed()), counting.where(unreviewed())
    if requester_id is not None:
        query = query.where(ApprovalRequest.requester_id == requester_id)
        counting = counting.where(ApprovalRequest.requester_id == requester_id)
    if statuses:
        query = query.where(col(ApprovalRequest.status).in_(statuses))
        counting = counting.where(col(ApprovalRequest.status).in_(statuses))
    if vmid is not None:
        query = query.where(ApprovalRequest.vmid == vmid)
        counting = counting.where(ApprovalRequest.vmid == vmid)
    if before is not None:
        query = query.where(col(ApprovalRequest.id) < before)
    rows = list((await db.exec(query.order_by(col(ApprovalRequest.id).desc()).limit(limit + 1))).all())
    total = int((await db.exec(counting)).one())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, total, (rows[-1].id if more and rows else None)


async def waiting_for(db: AsyncSession, user_id: int) -> int:
    """How many pending, unexpired requests someone other than this user asked for (the badge)."""
    query = (
        select(func.count())
        .select_from(ApprovalRequest)
        .where(ApprovalRequest.status == "pending", col(ApprovalRequest.expires_at) > utcnow())
        .where(ApprovalRequest.requester_id != user_id)
    )
    return int((await db.exec(query)).one())
