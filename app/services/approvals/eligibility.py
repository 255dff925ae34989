"""Who may still approve a request: the one answer the approval check, the request page, the API and the
notifications share.

A pending request needs its approvals left, at least one from each of its groups no approver came from yet,
never from the requester nor from someone who approved it already, and (when its rule says so) not from anyone
sharing a group with the requester.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import Approval, ApprovalRequest
from app.db.models import Role, User
from app.services.accounts import Principal
from app.services.approvals.rules import split_groups
from app.services.notifications import Audience

APPROVING_ROLES = (Role.approver, Role.admin)


@dataclass(frozen=True)
class Candidate:
    """A person who may approve requests at all: an active user with the approver role or above."""

    user_id: int
    username: str
    groups: frozenset[str]


@dataclass(frozen=True)
class StillNeeded:
    """What a request still needs: the approvals left, the groups no approver came from yet, and who cannot
    give them (the requester, those who approved, and the requester's groups when the rule keeps them out)."""

    approvals: int
    missing_groups: tuple[str, ...]
    requester_id: int
    excluded_groups: frozenset[str]
    approved_by: frozenset[int]

    @property
    def only_from_groups(self) -> bool:
        """Every approval left must come from a missing group: any other approver could no longer count."""
        return bool(self.missing_groups) and len(self.missing_groups) >= self.approvals

    @property
    def unreachable(self) -> bool:
        """More groups are missing than approvals are left: the rule can no longer be met."""
        return len(self.missing_groups) > self.approvals

    def shared_with_requester(self, groups: frozenset[str]) -> frozenset[str]:
        """The requester's groups this person is in, when the rule does not count them (else none)."""
        return groups & self.excluded_groups

    def counts_for_groups(self, groups: frozenset[str]) -> bool:
        """Whether an approval from someone in these groups can still count towards the rule."""
        return not self.only_from_groups or bool(groups & set(self.missing_groups))

    def admits(self, person: Candidate) -> bool:
        """Whether this approver could give one of the approvals left."""
        return (
            self.approvals > 0
            and person.user_id != self.requester_id
            and person.user_id not in self.approved_by
            and not self.shared_with_requester(person.groups)
            and self.counts_for_groups(person.groups)
        )

    def people(self, candidates: Iterable[Candidate]) -> list[str]:
        """The usernames of those who may still approve, sorted."""
        return sorted(c.username for c in candidates if self.admits(c))

    def members(self, candidates: Sequence[Candidate]) -> dict[str, list[str]]:
        """For each missing group, the usernames of its members who may still approve."""
        return {
            group: sorted(c.username for c in candidates if group in c.groups and self.admits(c))
            for group in self.missing_groups
        }

    def audience(self, candidates: Sequence[Candidate]) -> Audience:
        """Whom a message about this waiting request is for: approvers at large while any of them could still
        complete it, the missing groups, and the people who may approve it (never the requester)."""
        return Audience(
            approvers=self.approvals > 0 and not self.only_from_groups,
            groups=self.missing_groups,
            users=tuple(self.people(candidates)),
        )


@dataclass(frozen=True)
class GroupRefusal:
    """Why an approval cannot count: what the approver is told, and what the audit's denied event says."""

    message: str
    audit: str


def group_refusal(
    request: ApprovalRequest, needed: StillNeeded, approver_id: int, approver_groups: frozenset[str]
) -> GroupRefusal | None:
    """The refusal when the approver shares a group with the requester and the rule forbids it, or when every
    approval left is needed for groups the approver is not in; None when the yes would count. The service's
    check and the request page share it, so the page never offers a button the service would refuse."""
    shared = needed.shared_with_requester(approver_groups)
    if shared and approver_id != request.requester_id:
        return GroupRefusal(
            f"Rule '{request.policy_rule}' needs an approver outside the requester's groups; "
            f"you share {', '.join(sorted(shared))} with them.",
            f"the approver shares group {min(shared)} with the requester",
        )
    if not needed.counts_for_groups(approver_groups):
        missing = ", ".join(needed.missing_groups)
        return GroupRefusal(
            f"Rule '{request.policy_rule}' still needs an approver from {missing}; "
            f"you are in {', '.join(sorted(approver_groups)) or 'no group'}.",
            f"an approver from {missing} is still needed",
        )
    return None


def still_needed(request: ApprovalRequest, approvals: Sequence[Approval]) -> StillNeeded:
    """What the request still needs, given its approvals so far (no approval once it is no longer pending)."""
    covered = frozenset().union(*(split_groups(a.groups) for a in approvals))
    left = max(0, request.required_approvals - len(approvals)) if request.status == "pending" else 0
    return StillNeeded(
        approvals=left,
        missing_groups=tuple(sorted(split_groups(request.required_groups) - covered)),
        requester_id=request.requester_id,
        excluded_groups=frozenset() if request.own_group_approves else split_groups(request.requester_groups),
        approved_by=frozenset(a.user_id for a in approvals),
    )


async def approvals_of(db: AsyncSession, request_id: int) -> list[Approval]:
    """The request's approvals, oldest first."""
    query = select(Approval).where(Approval.request_id == request_id).order_by(col(Approval.id))
    return list((await db.exec(query)).all())


async def candidates(db: AsyncSession) -> list[Candidate]:
    """Every active user who may approve requests, with their groups (one query)."""
    query = select(User).where(col(User.is_active).is_(True), col(User.role).in_(APPROVING_ROLES))
    return [
        Candidate(int(u.id or 0), u.username, split_groups(u.groups)) for u in (await db.exec(query)).all()
    ]


async def approvers_seen_by(db: AsyncSession, principal: Principal) -> list[Candidate] | None:
    """Every possible approver, for a caller who may see who may still approve by name (the approver role);
    None for the others, who see only how many approvals and which groups."""
    return await candidates(db) if principal.can(Role.approver) else None


def break_glass_audience(people: Sequence[Candidate]) -> Audience:
    """A break-glass run is news for everyone with the approver role, whatever group they are in."""
    return Audience(approvers=True, groups=(), users=tuple(sorted(p.username for p in people)), everyone=True)
