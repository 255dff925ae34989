"""What Proxgate saw happen in Proxmox without it: tasks it did not start, how far each node's task list was
read, guests' configurations as last read, and the alerts about destructive changes that wait for an approver
or admin to acknowledge them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from app.db.models import utcnow


class ObservedTask(SQLModel, table=True):
    """A task Proxgate did not start: its UPID is the key, so however many processes see it, one records it."""

    __tablename__ = "observed_tasks"
    __table_args__ = (Index("ix_observed_tasks_open", "finished_at"),)

    upid: str = Field(primary_key=True, max_length=255)
    node: str = Field(max_length=64)
    task_type: str = Field(max_length=32)
    vmid: int | None = None
    user: str = Field(max_length=128)
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # Set (once, by a conditional UPDATE) with the end event; NULL while the task runs.
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    exitstatus: str | None = Field(default=None, max_length=255)


class ObserverCursor(SQLModel, table=True):
    """How far a node's task list has been read (epoch seconds of PVE's task start times)."""

    __tablename__ = "observer_cursors"

    node: str = Field(primary_key=True, max_length=64)
    read_until: int
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class SideDoorAlert(SQLModel, table=True):
    """An observed destructive change, shown to approvers and admins until one of them acknowledges it."""

    __tablename__ = "side_door_alerts"
    __table_args__ = (Index("ix_side_door_alerts_open", "acknowledged_at"),)

    id: int | None = Field(default=None, primary_key=True)
    upid: str | None = Field(default=None, max_length=255, unique=True)
    vmid: int | None = None
    message: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    acknowledged_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    acknowledged_by: str | None = Field(default=None, max_length=64)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class GuestConfigSeen(SQLModel, table=True):
    """A guest's configuration as Proxgate last read it: its digest, and a keyed fingerprint of each value
    (never the value: a config holds passwords), so a change nobody made through Proxgate can name its keys."""

    __tablename__ = "guest_configs_seen"

    vmid: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    digest: str = Field(max_length=64)
    # JSON object: key -> 16 hex digits of HMAC-SHA256 under a key derived from the secret key.
    fingerprints: str = Field(sa_column=Column(Text, nullable=False))
    read_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ObservedGuest(SQLModel, table=True):
    """A guest as the cluster view last showed it: a restart compares the cluster with these to notice a guest
    removed without a task while no Proxgate was running."""

    __tablename__ = "observed_guests"

    vmid: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    node: str = Field(max_length=64)
    guest_type: str = Field(max_length=8)
    name: str | None = Field(default=None, max_length=128)
