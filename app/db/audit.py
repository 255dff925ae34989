"""Audit tables: the append-only event log with its hash chain, and the chain's head row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Text
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    """One thing that happened; `hash` chains it to the event before (see services/audit.py)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_vmid_seq", "vmid", "seq"),
        Index("ix_audit_events_actor_seq", "actor_name", "seq"),
        Index("ix_audit_events_operation_seq", "operation", "seq"),
        Index("ix_audit_events_outcome_seq", "outcome", "seq"),
        Index("ix_audit_events_upid", "upid"),
        Index("ix_audit_events_batch_seq", "batch_id", "seq"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor_id: int | None = None
    actor_name: str = Field(max_length=64)
    auth_method: str = Field(max_length=16)
    source_ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    request_id: str = Field(default="", max_length=64)
    operation: str = Field(max_length=32)
    risk: str = Field(max_length=16)
    node: str | None = Field(default=None, max_length=64)
    guest_type: str | None = Field(default=None, max_length=8)
    vmid: int | None = None
    target_name: str | None = Field(default=None, max_length=255)
    params: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    outcome: str = Field(max_length=16)
    upid: str | None = Field(default=None, max_length=255)
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    approval_id: int | None = None
    # The API token's name when the actor used one (its id means nothing outside this database).
    token_name: str | None = Field(default=None, max_length=64)
    # The batch the event belongs to (a bulk action, emptying a node): one story across many guests.
    batch_id: str | None = Field(default=None, max_length=16)
    # Which key sealed the event: a fingerprint of it, never the key; '' for the legacy unkeyed segment.
    key_id: str = Field(default="", sa_column=Column(String(16), nullable=False, server_default=""))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The single row that serialises appends: last sequence number, hash and key id (kept by a trigger)."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    hash: str = Field(default="0" * 64, max_length=64)
    key_id: str = Field(default="", sa_column=Column(String(16), nullable=False, server_default=""))
