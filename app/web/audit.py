"""The audit history: filters, cursor paging, CSV and JSON Lines export, and (for admins) chain verification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.deps import SessionDep, require_principal, require_role, runtime_of
from app.services.accounts import Role
from app.services.audit import (
    OUTCOMES,
    AuditFilter,
    csv_header,
    csv_line,
    iter_events,
    jsonl_line,
    list_events,
    verify_against_checkpoints,
)
from app.web.templating import render

router = APIRouter(tags=["audit"], dependencies=[Depends(require_principal)])
FilterDep = Annotated[AuditFilter, Query()]


def _link(request: Request, filters: AuditFilter, **extra: Any) -> str:
    query = {**filters.active(), **{k: v for k, v in extra.items() if v is not None}}
    return f"{request.url.path}?{urlencode(query)}" if query else request.url.path


@router.get("/audit", name="audit_list")
async def audit_list(request: Request, db: SessionDep, filters: FilterDep) -> Response:
    """Newest events first, filtered; each links to its guest and task."""
    rows, next_before = await list_events(db, filters)
    active = filters.active()
    context = {
        "active": "audit_list",
        "events": rows,
        "filters": filters,
        "outcomes": OUTCOMES,
        "older": _link(request, filters, before=next_before) if next_before else None,
        "export_query": urlencode(active),
        "filtered": bool(active),
    }
    return render(request, "pages/audit/list.html", context, partial="partials/audit/_table.html")


async def _stream(request: Request, filters: AuditFilter, fmt: str) -> AsyncIterator[str]:
    async with runtime_of(request.app).sessions() as db:
        if fmt == "csv":
            yield csv_header()
        async for event in iter_events(db, filters):
            yield csv_line(event) if fmt == "csv" else jsonl_line(event)


@router.get("/audit/export.csv", name="audit_export_csv")
async def export_csv(request: Request, filters: FilterDep) -> StreamingResponse:
    """The filtered events as CSV, oldest first."""
    headers = {"Content-Disposition": 'attachment; filename="proxgate-audit.csv"'}
    return StreamingResponse(
        _stream(request, filters, "csv"), media_type="text/csv; charset=utf-8", headers=headers
    )


@router.get("/audit/export.jsonl", name="audit_export_jsonl")
async def export_jsonl(request: Request, filters: FilterDep) -> StreamingResponse:
    """The filtered events as JSON Lines, oldest first."""
    headers = {"Content-Disposition": 'attachment; filename="proxgate-audit.jsonl"'}
    return StreamingResponse(
        _stream(request, filters, "jsonl"), media_type="application/x-ndjson", headers=headers
    )


@router.get("/audit/verify", name="audit_verify", dependencies=[Depends(require_role(Role.admin))])
async def audit_verify(request: Request) -> Response:
    """Check the chain against the newest checkpoint now and say what holds (admins)."""
    result = await verify_against_checkpoints(runtime_of(request.app).sessions)
    return render(
        request,
        "pages/audit/verify.html",
        {"active": "audit_list", "result": result},
        partial="partials/audit/_verify.html",
    )
