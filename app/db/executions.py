"""Executions: every call Proxgate makes to change something, from the intent to the task's end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel

from app.db.models import utcnow


class Execution(SQLModel, table=True):
    """One call to Proxmox and the task it started; followed (and reconciled) by one process at a time."""

    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_state_lease", "state", "lease_until"),
        Index("ix_executions_approval_id", "approval_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Unknown until Proxmox answers; unique once known, so a task is recorded for one execution only.
    upid: str | None = Field(default=None, max_length=255, unique=True)
    node: str | None = Field(default=None, max_length=64)
    operation: str = Field(max_length=32)
    risk: str = Field(max_length=16)
    guest_type: str | None = Field(default=None, max_length=8)
    vmid: int | None = None
    target_name: str | None = Field(default=None, max_length=255)
    # The worker type the call starts (qmdestroy, vzrollback, ...), to find the task after a crash.
    task_type: str | None = Field(default=None, max_length=32)
    actor_id: int | None = None
    actor_name: str = Field(max_length=64)
    auth_method: str = Field(max_length=16)
    token_name: str | None = Field(default=None, max_length=64)
    request_id: str = Field(default="", max_length=64)
    # Where the call came from, for the events written after the intent (by the watcher, maybe elsewhere).
    source_ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    approval_id: int | None = None
    # The batch this call is part of: the events the watcher writes for it carry it too.
    batch_id: str | None = Field(default=None, max_length=16, index=True)
    # calling -> running (UPID known) -> done; or calling/unknown -> reconciled -> running/done.
    state: str = Field(default="calling", max_length=16)
    outcome: str | None = Field(default=None, max_length=16)
    exitstatus: str | None = Field(default=None, max_length=255)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    # When the process of a call still waiting for Proxmox (a long upload) last renewed its lease: a task the
    # call started appears by then, not only within minutes of created_at.
    renewed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    started_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    errors: int = 0
