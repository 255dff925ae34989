"""Task watches: every UPID the app started, followed to its end by one process at a time (a lease)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel

from app.db.models import utcnow


class TaskWatch(SQLModel, table=True):
    """A task Proxgate started; the watcher records its end in the audit log exactly once."""

    __tablename__ = "task_watches"
    __table_args__ = (Index("ix_task_watches_state_lease", "state", "lease_until"),)

    upid: str = Field(primary_key=True, max_length=255)
    node: str = Field(max_length=64)
    operation: str = Field(max_length=32)
    risk: str = Field(max_length=16)
    guest_type: str | None = Field(default=None, max_length=8)
    vmid: int | None = None
    target_name: str | None = Field(default=None, max_length=255)
    actor_id: int | None = None
    actor_name: str = Field(max_length=64)
    auth_method: str = Field(max_length=16)
    request_id: str = Field(default="", max_length=64)
    state: str = Field(default="running", max_length=16)  # running | done
    exitstatus: str | None = Field(default=None, max_length=255)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    errors: int = 0
