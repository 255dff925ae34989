"""GET /api/v1/tasks (recent tasks cluster-wide, filtered) and /api/v1/tasks/{upid} (status and whole log)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from app.deps import require_principal, service_dep
from app.http.csrf import verify_csrf
from app.http.filters import TaskQuery
from app.http.paging import ListPage, PagingDep
from app.services.tasks import ClusterTask, TaskService, TaskState

router = APIRouter(
    prefix="/api/v1", tags=["tasks"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
TaskDep = Annotated[TaskService, Depends(service_dep(TaskService))]


class TaskOut(BaseModel):
    """A recent task: `status` is PVE's (the exit status, or RUNNING); `state` sums it up."""

    upid: str
    node: str
    type: str
    id: str
    vmid: int | None
    user: str
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
    status: str
    exitstatus: str | None
    state: TaskState
    starttime: int
    endtime: int | None
    duration: int | None
    log: list[str]


def task_out(task: ClusterTask, now: float) -> dict[str, Any]:
    """A task of the list as the API shows it."""
    return {
        "upid": task.upid,
        "node": task.node,
        "type": task.type,
        "id": task.id,
        "vmid": task.vmid,
        "user": task.who,
        "starttime": task.starttime,
        "endtime": task.endtime,
        "duration": task.duration(now),
        "status": task.status,
        "state": task.state,
    }


@router.get("/tasks", response_model=ListPage[TaskOut])
async def tasks(service: TaskDep, query: Annotated[TaskQuery, Query()], paging: PagingDep) -> dict[str, Any]:
    """Recent tasks of every node, newest first; filters node, type, status, user (a part) and guest."""
    now = time.time()
    page = paging.page(await service.list_tasks(query.to_filter()))
    page["items"] = [task_out(task, now) for task in page["items"]]
    return page


@router.get("/tasks/{upid}", response_model=TaskDetailOut)
async def task(service: TaskDep, upid: Annotated[str, Path(max_length=512)]) -> dict[str, Any]:
    """Status, exit status and the whole log; 422 for a malformed UPID, 404 for an unknown task."""
    detail = await service.task_detail(upid)
    return {
        "upid": detail.upid.text,
        "node": detail.upid.node,
        "type": detail.upid.type,
        "id": detail.upid.id,
        "vmid": detail.upid.vmid,
        "user": detail.who,
        "status": detail.status.status,
        "exitstatus": detail.status.exitstatus,
        "state": detail.state,
        "starttime": detail.upid.starttime,
        "endtime": detail.endtime,
        "duration": detail.duration,
        "log": detail.log,
    }
