"""Task pages: recent tasks cluster-wide with filters, and one task with its log, live while it runs."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app.deps import SessionDep, TaskDep, require_principal
from app.http.filters import TaskQuery
from app.services.cluster import TASK_STATES
from app.services.errors import PveError, PveUnavailable
from app.services.pipeline import requested_by
from app.web.pve_links import guest_href, task_href
from app.web.templating import render

router = APIRouter(tags=["tasks"], dependencies=[Depends(require_principal)])
UpidParam = Annotated[str, Path(max_length=512, description="the task's UPID")]


def _links(request: Request) -> dict[str, Any]:
    return {"guest_href": guest_href(request), "task_href": task_href(request), "now_ts": time.time()}


@router.get("/tasks", name="task_list")
async def task_list(
    request: Request, service: TaskDep, db: SessionDep, query: Annotated[TaskQuery, Query()]
) -> Response:
    """Recent tasks of every node (and who in Proxgate asked for each it started); failed ones stand out; the
    list refreshes itself every 5 seconds."""
    context: dict[str, Any] = {"query": query, "states": TASK_STATES, **_links(request)}
    context["refresh"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        everything = await service.list_tasks()
        context["tasks"] = tasks = await service.list_tasks(query.to_filter())
        context["names"] = await service.guest_names()
        context["asked"] = await requested_by(db, (t.upid for t in tasks))
    except PveError as exc:
        context["problem"] = str(exc)
        everything = []
    context["nodes"] = sorted({t.node for t in everything})
    context["types"] = sorted({t.type for t in everything})
    return render(request, "pages/tasks/index.html", context, partial="partials/tasks/_tasks.html")


@router.get("/tasks/{upid}", name="task_detail")
async def task_detail(request: Request, service: TaskDep, db: SessionDep, upid: UpidParam) -> Response:
    """Status, times, who in Proxgate asked, and the whole log; while the task runs the partial refreshes."""
    context: dict[str, Any] = {"upid": upid, **_links(request)}
    try:
        context["detail"] = await service.task_detail(upid)
        context["names"] = await service.guest_names()
        context["asked_by"] = (await requested_by(db, [upid])).get(upid)
    except PveUnavailable as exc:
        # The node went away: say so, and keep looking (more slowly) until it is back.
        context["problem"] = str(exc)
    response = render(request, "pages/tasks/detail.html", context, partial="partials/tasks/_task.html")
    if "detail" in context and not context["detail"].running:
        # A page that follows this task (the guest page) refreshes its guest now, not at its next poll.
        response.headers["HX-Trigger"] = "task-ended"
    return response
