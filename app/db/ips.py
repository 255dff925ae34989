"""The IP index: each guest's network config and live addresses as last read, kept across restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel


class IpGuestConfig(SQLModel, table=True):
    """The network part of one guest's config (netN, ipconfigN, agent) and the digest it was read at."""

    __tablename__ = "ip_guest_configs"

    vmid: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    node: str = Field(max_length=64)
    kind: str = Field(max_length=8)
    digest: str | None = Field(default=None, max_length=64)
    # JSON object of the config keys the address parser reads, parsed again on loading.
    network: str = Field(sa_column=Column(Text, nullable=False))
    read_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class IpGuestAddresses(SQLModel, table=True):
    """What a running guest last reported (guest agent or container interfaces), or why it could not."""

    __tablename__ = "ip_guest_addresses"

    vmid: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    node: str = Field(max_length=64)
    status: str = Field(max_length=16)
    # JSON list of [address, prefix length, interface, MAC, source].
    records: str = Field(sa_column=Column(Text, nullable=False))
    problem_kind: str | None = Field(default=None, max_length=16)
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    read_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
