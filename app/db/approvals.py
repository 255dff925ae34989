"""Approval requests for destructive operations, the approvals they collect, and the notification outbox."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.models import utcnow


def _stamp(nullable: bool = True) -> object:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class ApprovalRequest(SQLModel, table=True):
    """A destructive change waiting for (or past) a second person's decision."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        Index("ix_approval_requests_status_id", "status", "id"),
        Index("ix_approval_requests_vmid_id", "vmid", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    operation: str = Field(max_length=32)
    risk: str = Field(max_length=16)
    node: str | None = Field(default=None, max_length=64)
    guest_type: str | None = Field(default=None, max_length=8)
    vmid: int | None = None
    target_name: str | None = Field(default=None, max_length=255)
    target_key: str = Field(max_length=300)
    # operation + target while the request is open, NULL after: the unique index allows one open request each.
    open_key: str | None = Field(default=None, max_length=340, unique=True)
    params: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    preview: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    warnings: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)
    required_approvals: int = 1
    # Advanced by each approval in the same statement that checks the request is still pending (the row lock).
    approval_count: int = 0
    requester_id: int
    requester_name: str = Field(max_length=64)
    requester_method: str = Field(max_length=16)
    requester_token: str | None = Field(default=None, max_length=64)
    # The request's page as the requester reached Proxgate (or PROXGATE_PUBLIC_URL), for notifications.
    url: str = Field(default="", max_length=512)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_at: datetime | None = _stamp()  # type: ignore[assignment]
    decided_by_id: int | None = None
    decided_by_name: str | None = Field(default=None, max_length=64)
    decision_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    executed_at: datetime | None = _stamp()  # type: ignore[assignment]
    finished_at: datetime | None = _stamp()  # type: ignore[assignment]
    upid: str | None = Field(default=None, max_length=255)
    exitstatus: str | None = Field(default=None, max_length=255)
    result_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A bulk change asked as one request: the batch it runs as once approved (its guests and their parts).
    batch_id: str | None = Field(default=None, max_length=16)
    # When the requester last saw how it stands: a later decision or end is news for them.
    requester_seen_at: datetime | None = _stamp()  # type: ignore[assignment]
    # The policy rule that decided what it needs ("settings" when none matched), the groups an approver must come
    # from (comma-separated), whether approvers sharing a group with the requester count, and the requester's
    # groups when they asked.
    policy_rule: str = Field(default="settings", max_length=100)
    required_groups: str = Field(default="", max_length=1000)
    own_group_approves: bool = True
    requester_groups: str = Field(default="", max_length=1000)
    # Break-glass: an admin ran it at once, without the approvals, saying why; another person reviews it after.
    break_glass_by_id: int | None = None
    break_glass_by: str | None = Field(default=None, max_length=64)
    break_glass_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = _stamp()  # type: ignore[assignment]
    review_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A maintenance window: approved, it waits ('scheduled') to run at run_at, and expires if run_until passes.
    window_name: str | None = Field(default=None, max_length=100)
    run_at: datetime | None = _stamp()  # type: ignore[assignment]
    run_until: datetime | None = _stamp()  # type: ignore[assignment]

    def seal(self) -> str:
        """sha256 of what was asked: operation, target, exact parameters, description and preview.

        Written into the request's audit event when it is asked (and with each approval, as shown), so a row
        changed afterwards no longer matches what its chain-protected events sealed."""
        asked = {
            "operation": self.operation,
            "risk": self.risk,
            "target": [self.target_key, self.node, self.guest_type, self.vmid, self.target_name],
            "params": json.loads(self.params),
            "description": self.description,
            "preview": json.loads(self.preview),
        }
        text = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


class Approval(SQLModel, table=True):
    """One approver's yes to a request; a person can say yes to a request once."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("request_id", "user_id", name="uq_approvals_request_user"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_requests.id", index=True, ondelete="CASCADE")
    user_id: int
    user_name: str = Field(max_length=64)
    auth_method: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The request's seal as this approver was shown it (the page or the API answer they decided on).
    seal: str | None = Field(default=None, max_length=64)
    # The approver's groups when they approved (comma-separated): which of the request's groups they count for.
    groups: str = Field(default="", max_length=1000)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Notification(SQLModel, table=True):
    """A message waiting to be delivered to one target; written with the change it reports, sent later."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_state_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # The target's name from the settings (its URL may hold a secret, so it is not copied here).
    target: str = Field(max_length=64)
    event: str = Field(max_length=32)
    request_id: int | None = None
    payload: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", max_length=16)  # pending | sent | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    lease_until: datetime | None = _stamp()  # type: ignore[assignment]
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    sent_at: datetime | None = _stamp()  # type: ignore[assignment]


class IdempotencyKey(SQLModel, table=True):
    """A one-time key a form or client sent with a change; a repeat gets the first answer back."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int
    key: str = Field(max_length=128)
    operation: str = Field(max_length=32)
    # sha256 of what was asked (operation, target, parameters): the same key with other values is refused.
    request_hash: str = Field(max_length=64)
    # The answer once known (JSON); NULL while the first request is still running.
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
