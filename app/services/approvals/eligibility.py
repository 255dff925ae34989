"""Whether the rule stored with a request can count an approver's yes: the one reading of its groups that the
service's check and the request page share, so the page never offers a button the service would refuse."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.db.approvals import ApprovalRequest
from app.services.approvals.rules import split_groups


@dataclass(frozen=True)
class GroupRefusal:
    """Why an approval cannot count: what the approver is told, and what the audit's denied event says."""

    message: str
    audit: str


def group_refusal(
    request: ApprovalRequest, missing: Collection[str], approver_id: int, approver_groups: frozenset[str]
) -> GroupRefusal | None:
    """The refusal when the approver shares a group with the requester and the rule forbids it, or when every
    approval left is needed for groups the approver is not in; None when the yes would count."""
    shared = approver_groups & split_groups(request.requester_groups)
    if not request.own_group_approves and shared and approver_id != request.requester_id:
        return GroupRefusal(
            f"Rule '{request.policy_rule}' needs an approver outside the requester's groups; "
            f"you share {', '.join(sorted(shared))} with them.",
            f"the approver shares group {min(shared)} with the requester",
        )
    left = request.required_approvals - request.approval_count
    wanted = sorted(missing)
    if wanted and len(wanted) >= left and not approver_groups & set(wanted):
        return GroupRefusal(
            f"Rule '{request.policy_rule}' still needs an approver from {', '.join(wanted)}; "
            f"you are in {', '.join(sorted(approver_groups)) or 'no group'}.",
            f"an approver from {', '.join(wanted)} is still needed",
        )
    return None
