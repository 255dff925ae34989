"""Which approvals the rule stored with a request can count, as the service's check and the request page read it."""

from __future__ import annotations

from datetime import timedelta

from app.db.approvals import Approval, ApprovalRequest
from app.db.models import utcnow
from app.services.approvals import RequestView


def production_deletion(**rule: object) -> ApprovalRequest:
    """A pending deletion under a rule of two approvals, one from dba, asked by someone in web."""
    values: dict[str, object] = {
        "policy_rule": "production databases",
        "required_approvals": 2,
        "required_groups": "dba",
        "requester_groups": "web",
        **rule,
    }
    return ApprovalRequest(
        operation="delete",
        risk="destructive",
        target_key="guest:9380",
        vmid=9380,
        reason="moved",
        description="Delete VM 9380",
        requester_id=1,
        requester_name="alice",
        requester_method="session",
        expires_at=utcnow() + timedelta(hours=1),
        **values,
    )


def approval(user_id: int, name: str, groups: str) -> Approval:
    """One approver's yes, given from these groups."""
    return Approval(request_id=1, user_id=user_id, user_name=name, auth_method="session", groups=groups)


def test_the_first_approval_may_come_from_anyone_the_last_only_from_a_missing_group() -> None:
    view = RequestView(production_deletion())
    assert view.approve_refusal(2, frozenset({"web"})) is None
    view.approvals.append(approval(2, "bob", "web"))
    view.row.approval_count = 1
    assert view.approve_refusal(3, frozenset({"ops", "web"})) == (
        "Rule 'production databases' still needs an approver from dba; you are in ops, web."
    )
    assert view.approve_refusal(4, frozenset()) == (
        "Rule 'production databases' still needs an approver from dba; you are in no group."
    )
    assert view.approve_refusal(5, frozenset({"dba"})) is None


def test_someone_who_approved_is_told_what_the_request_still_waits_for() -> None:
    view = RequestView(production_deletion(), [approval(2, "bob", "web")])
    assert view.approve_refusal(2, frozenset({"web"})) == (
        "You approved this request; it still needs an approver from dba."
    )
    plain = RequestView(
        production_deletion(required_groups="", required_approvals=3), [approval(2, "bob", "")]
    )
    assert plain.approve_refusal(2, frozenset()) == (
        "You approved this request; it waits for 2 more approvals from someone else."
    )


def test_a_rule_without_the_requesters_groups_refuses_a_colleague() -> None:
    view = RequestView(production_deletion(own_group_approves=False, required_groups=""))
    assert view.approve_refusal(2, frozenset({"web", "ops"})) == (
        "Rule 'production databases' needs an approver outside the requester's groups; you share web with them."
    )
    assert view.approve_refusal(3, frozenset({"ops"})) is None
