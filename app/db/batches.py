"""Batches: one change asked of many guests at once (bulk actions, emptying a node), and each guest's part."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from app.db.models import utcnow


class Batch(SQLModel, table=True):
    """One operation run for many guests, a few at a time; its id is short and random (it is in URLs)."""

    __tablename__ = "batches"
    __table_args__ = (
        Index("ix_batches_created_at", "created_at"),
        Index("ix_batches_status_lease", "status", "lease_until"),
    )

    id: str = Field(primary_key=True, max_length=16)
    # "bulk" | "empty-node" | "bring-back"
    kind: str = Field(default="bulk", max_length=16)
    operation: str = Field(max_length=32)
    created_by: str = Field(max_length=64)
    created_by_id: int | None = None
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    concurrency: int = 4
    stop_on_failure: bool = False
    # "running" -> "done" | "stopped"; "pending" while its approval request waits, "rejected" when it is refused
    status: str = Field(default="running", max_length=16)
    # The approval request that holds a destructive batch back (one for the whole batch).
    approval_id: int | None = None
    meta: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    # The process that runs a running batch, and until when it holds it: it renews the lease while it runs, and
    # another process takes the batch over once the lease has run out (its process stopped).
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # The process that last took the batch over from one that had stopped, and when.
    resumed_by: str | None = Field(default=None, max_length=64)
    resumed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class BatchMember(SQLModel, table=True):
    """One guest's part of a batch: its own parameters, where it stands, its task and how it ended."""

    __tablename__ = "batch_items"
    __table_args__ = (Index("ix_batch_items_batch_position", "batch_id", "position", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(max_length=16, foreign_key="batches.id", ondelete="CASCADE")
    position: int
    vmid: int
    # The guest's name and node when the batch was asked, for the batch page (the guest may be gone since).
    name: str = Field(default="", max_length=255)
    node: str = Field(default="", max_length=64)
    params: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # "waiting" -> "running" -> "succeeded" | "failed"; "waiting" -> "skipped" (stopped, or an earlier failure);
    # "succeeded" from the start when nothing was to be sent (a tag the guest has already)
    status: str = Field(default="waiting", max_length=16)
    upid: str | None = Field(default=None, max_length=255)
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    execution_id: int | None = None
    started_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
