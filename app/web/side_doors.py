"""Side doors: the dashboard's alerts about changes made in Proxmox without Proxgate (acknowledged with a
comment), and the admins' report of which Proxmox users and tokens can still make them (/admin/side-doors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from app.deps import (
    PrincipalDep,
    SessionDep,
    SideDoorsDep,
    actor_for,
    require_principal,
    require_role,
    runtime_of,
)
from app.http.csrf import verify_csrf
from app.services.accounts import Role
from app.services.errors import ServiceError
from app.services.sidedoors import CAPABILITIES, acknowledge, open_alerts
from app.web.templating import render

router = APIRouter(tags=["side-doors"], dependencies=[Depends(require_principal)])
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/side-doors/alerts", name="side_door_alerts")
async def side_door_alerts(
    request: Request, db: SessionDep, principal: PrincipalDep, report: SideDoorsDep
) -> Response:
    """For approvers and admins: observed destructive changes nobody acknowledged; for admins the side doors."""
    doors = None
    if principal.can(Role.admin):
        # Read before the database is touched: no connection is held while Proxmox answers.
        found = await report.report()
        doors = None if found.unreadable else len(found.side_doors)
    alerts, total = await open_alerts(db) if principal.can(Role.approver) else ([], 0)
    context = {"alerts": alerts, "total": total, "doors": doors, "problem": None}
    return render(request, "partials/side_doors/_alerts.html", context)


@router.post(
    "/side-doors/alerts/{alert_id}/acknowledge",
    name="side_door_acknowledge",
    dependencies=[Depends(verify_csrf), Depends(require_role(Role.approver))],
)
async def side_door_acknowledge(
    request: Request,
    db: SessionDep,
    principal: PrincipalDep,
    alert_id: AlertId,
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Acknowledge an alert with a comment (audited); the banner is drawn again without it."""
    problem, status = None, 200
    try:
        await acknowledge(runtime_of(request.app).sessions, actor_for(request, principal), alert_id, comment)
    except ServiceError as exc:
        problem, status = str(exc), exc.status
    alerts, total = await open_alerts(db)
    context = {"alerts": alerts, "total": total, "doors": None, "problem": problem}
    return render(request, "partials/side_doors/_alerts.html", context, status_code=status)


@router.get("/admin/side-doors", name="side_doors", dependencies=[Depends(require_role(Role.admin))])
async def side_doors_page(request: Request, report: SideDoorsDep, fresh: bool = False) -> Response:
    """Every Proxmox user and token, what each can change without Proxgate, and how to close it."""
    found = await report.report(fresh=fresh)
    context = {
        "active": "admin_users",
        "report": found,
        "capabilities": list(CAPABILITIES),
        "observer": runtime_of(request.app).observer.status,
    }
    return render(request, "pages/admin/side_doors.html", context)
