"""GET /api/v1/audit: the audit log with filters, newest first, paged by cursor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.deps import SessionDep, require_principal
from app.http.csrf import verify_csrf
from app.services.audit_query import AuditFilter, event_dict, list_events

router = APIRouter(
    prefix="/api/v1", tags=["audit"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class AuditPage(BaseModel):
    """One page of events and the cursor for the next (older) one."""

    items: list[dict[str, Any]]
    next_before: int | None


@router.get("/audit", response_model=AuditPage)
async def audit_events(db: SessionDep, filters: Annotated[AuditFilter, Query()]) -> dict[str, Any]:
    """Events matching actor, vmid, operation, risk, outcome, since, until and q; `before` pages back."""
    rows, next_before = await list_events(db, filters)
    return {"items": [event_dict(e) for e in rows], "next_before": next_before}
