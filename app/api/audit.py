"""GET /api/v1/audit: the audit log with filters, newest first, paged by a cursor that holds its place."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.deps import SessionDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, Paging, encode_cursor, paging_by
from app.services.audit import AuditFilter, AuditQuery, count_events, event_dict, list_events

router = APIRouter(
    prefix="/api/v1", tags=["audit"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


AuditPaging = Annotated[Paging, Depends(paging_by("before"))]


class AuditEventOut(BaseModel):
    """One event of the hash-chained log, as the JSON Lines export gives it."""

    seq: int
    at: str = Field(description="UTC, ISO 8601 with microseconds, as hashed")
    actor_name: str
    auth_method: str
    source_ip: str
    user_agent: str
    request_id: str
    operation: str
    risk: str
    node: str | None
    guest_type: str | None
    vmid: int | None
    target_name: str | None
    params: dict[str, Any]
    outcome: str
    upid: str | None
    message: str | None
    approval_id: int | None
    prev_hash: str
    token_name: str | None
    key_id: str = Field(
        description="Which key sealed the event (a fingerprint); empty before the chain was keyed"
    )
    batch_id: str | None = Field(description="The batch (bulk action) the event is part of")
    hash: str


@router.get("/audit", name="list", response_model=ListPage[AuditEventOut])
async def audit_events(
    db: SessionDep, filters: Annotated[AuditQuery, Query()], paging: AuditPaging
) -> dict[str, Any]:
    """Events matching actor, vmid, operation, risk, outcome, since, until, q and batch, newest first."""
    page = AuditFilter(**filters.model_dump(), before=paging.position, limit=paging.limit)
    rows, next_before = await list_events(db, page)
    return {
        "items": [event_dict(e) for e in rows],
        "total": await count_events(db, filters),
        "next_cursor": encode_cursor({"before": next_before}) if next_before else None,
    }
