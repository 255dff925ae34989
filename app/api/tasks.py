"""GET /api/v1/tasks (recent tasks cluster-wide, filtered) and /api/v1/tasks/{upid} (status and whole log)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from app.deps import NodeDep, SessionDep, TaskDep, require_principal
from app.http.csrf import verify_csrf
from app.http.filters import TaskQuery
from app.http.paging import ListPage, PagingDep
from app.services.cluster import ClusterTask, TaskState
from app.services.pipeline import requested_by

router = APIRouter(
    prefix="/api/v1", tags=["tasks"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class TaskOut(BaseModel):
    """A recent task: `status` is PVE's (the exit status, or RUNNING); `state` sums it up."""

    upid: str
    node: str
    type: str
    id: str
    vmid: int | None
    user: str
    requested_by: str | None
    starttime: int
    endtime: int | None
    duration: int | None
    status: str | None
    state: TaskState


class TaskDetailOut(BaseModel):
    """One task: PVE's status (running|stopped), its exit status once stopped, and every log line."""

    upid: str
    node: str
    type: str
    id: str
    vmid: int | None
    user: str
    requested_by: str | None
    status: str
    exitstatus: str | None
    state: TaskState
    starttime: int
    endtime: int | None
    duration: int | None
    log: list[str]


def task_out(task: ClusterTask, now: float, asked: dict[str, str]) -> dict[str, Any]:
    """A task of the list as the API shows it; requested_by is the Proxgate user who started it, if one did."""
    return {
        "upid": task.upid,
        "node": task.node,
        "type": task.type,
        "id": task.id,
        "vmid": task.vmid,
        "user": task.who,
        "requested_by": asked.get(task.upid),
        "starttime": task.starttime,
        "endtime": task.endtime,
        "duration": task.duration(now),
        "status": task.status,
        "state": task.state,
    }


@router.get("/tasks", name="list", response_model=ListPage[TaskOut])
async def tasks(
    service: TaskDep,
    db: SessionDep,
    nodes: NodeDep,
    query: Annotated[TaskQuery, Query()],
    paging: PagingDep,
) -> dict[str, Any]:
    """Recent tasks of every node, newest first; filters node, type, status, user (a part) and guest."""
    await nodes.check_known(query.node)
    now = time.time()
    page = paging.page(await service.list_tasks(query.to_filter()))
    asked = await requested_by(db, (task.upid for task in page["items"]))
    page["items"] = [task_out(task, now, asked) for task in page["items"]]
    return page


@router.get("/tasks/{upid}", name="detail", response_model=TaskDetailOut)
async def task(
    service: TaskDep, db: SessionDep, upid: Annotated[str, Path(max_length=512)]
) -> dict[str, Any]:
    """Status, exit status, who in Proxgate asked, and the whole log; 422 for a malformed UPID, 404 if unknown."""
    detail = await service.task_detail(upid)
    return {
        "upid": detail.upid.text,
        "node": detail.upid.node,
        "type": detail.upid.type,
        "id": detail.upid.id,
        "vmid": detail.upid.vmid,
        "user": detail.who,
        "requested_by": (await requested_by(db, [detail.upid.text])).get(detail.upid.text),
        "status": detail.status.status,
        "exitstatus": detail.status.exitstatus,
        "state": detail.state,
        "starttime": detail.upid.starttime,
        "endtime": detail.endtime,
        "duration": detail.duration,
        "log": detail.log,
    }
