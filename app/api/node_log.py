"""GET /api/v1/nodes/{node}/log: a node's system log, newest first, filtered and paged by cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from app.deps import NodeLogDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import DEFAULT_LIMIT, LimitQuery
from app.services.cluster import NODE_PATTERN, LogPage, LogQuery

router = APIRouter(
    prefix="/api/v1", tags=["nodes"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
# A journal cursor is about 150 characters; the log's cursor carries one.
CURSOR_MAX = 600


class LogEntryOut(BaseModel):
    """One line of the log; its parts are empty when the line has no journal short form."""

    text: str = Field(description="The line as Proxmox gives it")
    stamp: str = Field(description="Its time as the node printed it ('Dec 06 12:00:01')")
    host: str
    service: str = Field(description="The syslog identifier: pvedaemon, sshd, kernel, ...")
    pid: int | None
    message: str


class LogPageOut(BaseModel):
    """One page of the log, newest first; `total` counts this page (the journal keeps no count)."""

    items: list[LogEntryOut]
    total: int
    next_cursor: str | None = Field(description="Pass as ?cursor= for older entries; null at the start")
    source: str = Field(description="journal, or syslog on versions without the journal endpoint")
    scanned: int = Field(description="Lines read to fill this page (filters skip the others)")


def log_json(page: LogPage) -> dict[str, Any]:
    """The page in plain JSON types."""
    items = [
        {
            "text": e.text,
            "stamp": e.stamp,
            "host": e.host,
            "service": e.service,
            "pid": e.pid,
            "message": e.message,
        }
        for e in page.entries
    ]
    return {
        "items": items,
        "total": len(items),
        "next_cursor": page.next_cursor,
        "source": page.source,
        "scanned": page.scanned,
    }


@router.get("/nodes/{node}/log", name="log", response_model=LogPageOut)
async def node_log(
    service: NodeLogDep,
    node: Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")],
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=CURSOR_MAX, description="next_cursor of a page")] = None,
    since: Annotated[datetime | None, Query(description="Entries at or after (ISO 8601 or epoch)")] = None,
    until: Annotated[datetime | None, Query(description="Entries at or before (ISO 8601 or epoch)")] = None,
    q: Annotated[str, Query(max_length=200, description="Only lines holding this text (any case)")] = "",
    unit: Annotated[
        str, Query(alias="service", max_length=128, description="Only this service (pvedaemon, sshd, ...)")
    ] = "",
) -> dict[str, Any]:
    """The node's journal (its syslog on versions without one), newest first; needs Sys.Syslog on the node."""
    query = LogQuery(limit=limit, cursor=cursor, since=since, until=until, q=q.strip(), service=unit.strip())
    return log_json(await service.read(node, query))
