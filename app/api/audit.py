"""GET /api/v1/audit: the audit log with filters, newest first, paged by a cursor that holds its place."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.deps import SessionDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, Paging, encode_cursor, paging_by
from app.services.audit import AuditFilter, AuditQuery, count_events, event_dict, list_events

router = APIRouter(
    prefix="/api/v1", tags=["audit"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


AuditPaging = Annotated[Paging, Depends(paging_by("before"))]


@router.get("/audit", response_model=ListPage[dict[str, Any]])
async def audit_events(
    db: SessionDep, filters: Annotated[AuditQuery, Query()], paging: AuditPaging
) -> dict[str, Any]:
    """Events matching actor, vmid, operation, risk, outcome, since, until and q, newest first."""
    page = AuditFilter(**filters.model_dump(), before=paging.position, limit=paging.limit)
    rows, next_before = await list_events(db, page)
    return {
        "items": [event_dict(e) for e in rows],
        "total": await count_events(db, filters),
        "next_cursor": encode_cursor({"before": next_before}) if next_before else None,
    }
