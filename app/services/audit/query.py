"""Reading the audit log: filters shared by the page, the API and the exports, paged by cursor."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.db.audit import AuditEvent
from app.services.audit.chain import HASHED_FIELDS, OPTIONAL_FIELD, canonical_time

OUTCOMES = (
    "intent",
    "started",
    "succeeded",
    "failed",
    "unknown",
    "not-started",
    "denied",
    "invalid",
    "requested",
    "approved",
    "rejected",
    "cancelled",
    "expired",
    "stopped",
    "resumed",
)
# The auth_method of the events Proxgate observed in Proxmox (tasks it did not start).
OBSERVED = "proxmox"
# Everything hashed (but the actor's internal id, which means nothing outside this database), and the hash.
EXPORT_COLUMNS = (*(name for name in HASHED_FIELDS if name != "actor_id"), OPTIONAL_FIELD, "hash")


class AuditQuery(BaseModel):
    """Which events: every filter optional."""

    actor: str | None = Field(None, max_length=64)
    vmid: int | None = Field(None, ge=1, le=999_999_999)
    # Guest operations are kebab-case; account and sign-in events have dots and underscores (sso.sign_in).
    operation: str | None = Field(None, max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")
    risk: Literal["read-only", "reversible", "destructive", "admin"] | None = None
    outcome: Literal[OUTCOMES] | None = None  # type: ignore[valid-type]
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = Field(None, max_length=200)
    # proxgate: what went through Proxgate; proxmox: what was observed in Proxmox without it.
    source: Literal["proxgate", "proxmox"] | None = None
    batch: str | None = Field(None, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        # HTML forms send empty fields as empty strings; they mean "no filter".
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v not in ("", None)}
        return data

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Times without a zone are UTC, as the page shows them.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    def active(self) -> dict[str, Any]:
        """The filters that are set (for links and the export), without paging."""
        return self.model_dump(exclude_none=True, exclude={"before", "limit"}, mode="json")


class AuditFilter(AuditQuery):
    """The filters and a page: `before` continues below that sequence number (newest first)."""

    before: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=500)


def _where(query: SelectOfScalar[AuditEvent], f: AuditQuery) -> SelectOfScalar[AuditEvent]:
    if f.actor:
        query = query.where(AuditEvent.actor_name == f.actor.lower())
    if f.vmid is not None:
        query = query.where(AuditEvent.vmid == f.vmid)
    if f.operation:
        query = query.where(AuditEvent.operation == f.operation)
    if f.risk:
        query = query.where(AuditEvent.risk == f.risk)
    if f.outcome:
        query = query.where(AuditEvent.outcome == f.outcome)
    if f.batch:
        query = query.where(AuditEvent.batch_id == f.batch)
    if f.since:
        query = query.where(col(AuditEvent.at) >= f.since)
    if f.until:
        query = query.where(col(AuditEvent.at) <= f.until)
    if f.source == "proxmox":
        query = query.where(AuditEvent.auth_method == OBSERVED)
    elif f.source == "proxgate":
        query = query.where(AuditEvent.auth_method != OBSERVED)
    if f.q:
        like = f"%{f.q}%"
        query = query.where(
            or_(
                col(AuditEvent.target_name).ilike(like),
                col(AuditEvent.message).ilike(like),
                col(AuditEvent.params).ilike(like),
                col(AuditEvent.upid).ilike(like),
                col(AuditEvent.actor_name).ilike(like),
                col(AuditEvent.token_name).ilike(like),
            )
        )
    return query


async def list_events(db: AsyncSession, f: AuditFilter) -> tuple[list[AuditEvent], int | None]:
    """One page, newest first, and the cursor of the next (older) page or None."""
    query = _where(select(AuditEvent), f)
    if f.before is not None:
        query = query.where(AuditEvent.seq < f.before)
    rows = list((await db.exec(query.order_by(col(AuditEvent.seq).desc()).limit(f.limit + 1))).all())
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    return rows, (rows[-1].seq if more and rows else None)


async def count_events(db: AsyncSession, f: AuditQuery) -> int:
    """How many events match the filters."""
    matching = _where(select(AuditEvent), f).subquery()
    return int((await db.exec(select(func.count()).select_from(matching))).one())


async def iter_events(db: AsyncSession, f: AuditQuery, batch: int = 2000) -> AsyncIterator[AuditEvent]:
    """Every matching event, oldest first, read in batches (exports)."""
    last = 0
    while True:
        query = (
            _where(select(AuditEvent), f)
            .where(AuditEvent.seq > last)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        )
        rows = list((await db.exec(query)).all())
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        last = rows[-1].seq
        db.expunge_all()


def event_dict(event: AuditEvent) -> dict[str, Any]:
    """An event as the API and the JSON Lines export give it."""
    data: dict[str, Any] = {name: getattr(event, name) for name in EXPORT_COLUMNS}
    data["at"] = canonical_time(event.at)
    data["params"] = json.loads(event.params)
    return data


def jsonl_line(event: AuditEvent) -> str:
    """One JSON Lines record."""
    return json.dumps(event_dict(event), ensure_ascii=False, sort_keys=True) + "\n"


def csv_header() -> str:
    """The CSV export's first line."""
    return _csv_row(list(EXPORT_COLUMNS))


def csv_line(event: AuditEvent) -> str:
    """One CSV record (params as JSON text)."""
    data = event_dict(event)
    data["params"] = event.params
    return _csv_row(["" if data[c] is None else data[c] for c in EXPORT_COLUMNS])


def _csv_row(values: list[Any]) -> str:
    out = io.StringIO()
    # Cells that a spreadsheet would run as a formula are prefixed, since guest names come from Proxmox users.
    safe = [f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in values]
    csv.writer(out).writerow(safe)
    return out.getvalue()
