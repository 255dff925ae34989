"""GET /api/v1/side-doors/alerts and POST .../{id}/acknowledge: the observed destructive changes that wait for an
approver or admin, over JSON (the dashboard's banner for agents and scripts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from app.deps import PrincipalDep, RuntimeDep, SessionDep, actor_for, require_role
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, Paging, encode_cursor, paging_by
from app.services.accounts import Role
from app.services.sidedoors import acknowledge, list_alerts

router = APIRouter(
    prefix="/api/v1/side-doors/alerts",
    tags=["side-doors"],
    dependencies=[Depends(require_role(Role.approver)), Depends(verify_csrf)],
)
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The alert's number")]
AlertPaging = Annotated[Paging, Depends(paging_by("before"))]
STATES: dict[str, bool | None] = {"open": False, "acknowledged": True, "all": None}


class AlertOut(BaseModel):
    """An observed destructive change, and who acknowledged it with what comment (null while open)."""

    id: int
    key: str | None = Field(
        description="The task's UPID, or removed:<vmid>:<epoch> for a guest gone without one"
    )
    vmid: int | None
    message: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    comment: str | None


class AcknowledgeIn(BaseModel):
    """What was done about it: the comment goes into the audit log with the acknowledgement."""

    comment: str = Field(..., min_length=1, max_length=2000)


def alert_out(row: Any) -> AlertOut:
    """The alert as the API shows it."""
    return AlertOut(
        id=row.id,
        key=row.upid,
        vmid=row.vmid,
        message=row.message,
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        comment=row.comment,
    )


@router.get("", name="alerts", response_model=ListPage[AlertOut])
async def side_door_alerts(
    db: SessionDep,
    paging: AlertPaging,
    state: Annotated[Literal["open", "acknowledged", "all"], Query(description="Which alerts")] = "open",
) -> dict[str, Any]:
    """Alerts newest first: those nobody acknowledged yet (the dashboard's banner), or the acknowledged, or all."""
    rows, total, last = await list_alerts(db, STATES[state], paging.limit, paging.position)
    return {
        "items": [alert_out(row) for row in rows],
        "total": total,
        "next_cursor": encode_cursor({"before": last}) if last else None,
    }


@router.post("/{alert_id}/acknowledge", name="acknowledge", response_model=AlertOut)
async def side_door_acknowledge(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, alert_id: AlertId, body: AcknowledgeIn
) -> AlertOut:
    """Acknowledge an alert with a comment (audited); 409 when someone did already."""
    row = await acknowledge(runtime.sessions, actor_for(request, principal), alert_id, body.comment)
    return alert_out(row)
