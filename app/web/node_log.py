"""A node's system log (/nodes/{node}/log, and its latest lines on the node page); its JSON twin is
GET /api/v1/nodes/{node}/log (app/api/node_log.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app.deps import NodeLogDep, require_principal
from app.services.cluster import NODE_PATTERN, LogQuery
from app.services.errors import Forbidden, Invalid, PveError
from app.web.templating import render

router = APIRouter(tags=["nodes"], dependencies=[Depends(require_principal)])
NodeParam = Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")]
Text = Annotated[str, Query(max_length=200)]
PER_PAGE = 100
# Lines the node page shows of the log.
RECENT = 8


def parse_when(value: str, field: str) -> datetime | None:
    """A datetime-local field's value ('2026-12-06T12:00'), None when empty; Invalid naming the field."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"'{value}' is not a date and time such as 2026-12-06T12:00.", field=field) from None


async def read_log(service: Any, node: str, query: LogQuery) -> dict[str, Any]:
    """The page of the log, or what stops it being read (no Sys.Syslog, Proxmox away) in plain words."""
    try:
        return {"log": await service.read(node, query)}
    except Forbidden as exc:
        return {"forbidden": exc.message}
    except PveError as exc:
        return {"problem": str(exc)}


@router.get("/nodes/{node}/log", name="node_log")
async def node_log(
    request: Request,
    service: NodeLogDep,
    node: NodeParam,
    q: Text = "",
    unit: Annotated[str, Query(alias="service", max_length=128)] = "",
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
    cursor: Annotated[str | None, Query(max_length=600)] = None,
    follow: Annotated[str, Query(max_length=3)] = "",
) -> Response:
    """The journal newest first, filtered by text, service and time range, a page at a time; with `follow`
    the first page refreshes itself while it is open."""
    query = LogQuery(
        limit=PER_PAGE,
        cursor=cursor or None,
        since=parse_when(since, "since"),
        until=parse_when(until, "until"),
        q=q.strip(),
        service=unit.strip(),
    )
    context: dict[str, Any] = {
        "active": "dashboard",
        "node": node,
        "form": {"q": q, "service": unit, "since": since, "until": until, "follow": bool(follow)},
        "paged": bool(cursor),
        **await read_log(service, node, query),
    }
    base = request.url.path
    context["refresh"] = base + (f"?{request.url.query}" if request.url.query else "")
    if context.get("log") and context["log"].next_cursor:
        older = dict(request.query_params) | {"cursor": context["log"].next_cursor}
        context["older"] = str(request.url.replace_query_params(**older))
    return render(request, "pages/nodes/log.html", context, partial="partials/nodes/_log.html")


@router.get("/nodes/{node}/log/recent", name="node_log_recent")
async def node_log_recent(request: Request, service: NodeLogDep, node: NodeParam) -> Response:
    """The node page's section: the latest lines of the log, or why it cannot be read."""
    context = {"node": node, **await read_log(service, node, LogQuery(limit=RECENT))}
    return render(request, "partials/nodes/_log_recent.html", context)
