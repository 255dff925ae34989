"""Waiting for a task's end or a request's decision, by polling the API (one code path for ctl and MCP)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.agents.api import ProxgateApi, path_segment

# A request in one of these states will not change any more.
FINISHED = frozenset({"succeeded", "failed", "rejected", "cancelled", "expired"})
# Polls start fast (a start takes a second) and slow down for a human's decision.
FIRST_POLL, MAX_POLL = 0.2, 3.0
DEFAULT_WAIT = 300.0
# A new install reads every guest once before its address listing is whole: about a minute at 10,000 guests.
LISTING_WAIT = 180.0
MAX_WAIT = 3600


def task_failed(task: dict[str, Any]) -> bool:
    """True once the task stopped with an error (PVE's 'WARNINGS: n' counts as done)."""
    return task.get("state") == "error"


async def wait_task(api: ProxgateApi, upid: str, seconds: float = DEFAULT_WAIT) -> dict[str, Any]:
    """The task (status, exit status, log) once it stopped, or as it is when the time is up."""
    path = f"/api/v1/tasks/{path_segment(upid)}"
    return await _poll(api, path, seconds, lambda task: task.get("state") != "running")


async def wait_request(api: ProxgateApi, request_id: int, seconds: float = DEFAULT_WAIT) -> dict[str, Any]:
    """The request once decided and run (or rejected, cancelled, expired), or as it is when the time is up."""
    path = f"/api/v1/requests/{int(request_id)}"
    return await _poll(api, path, seconds, lambda request: request.get("status") in FINISHED)


async def wait_complete(api: ProxgateApi, path: str, seconds: float | None = None) -> None:
    """Return once the listing at path says it is complete (Proxgate has read every guest), or when the time
    (LISTING_WAIT unless given) is up."""
    wait = LISTING_WAIT if seconds is None else seconds
    await _poll(api, path, wait, lambda page: page.get("complete") is not False, limit=1, notes_limit=0)


async def _poll(api: ProxgateApi, path: str, seconds: float, done: Any, **params: Any) -> dict[str, Any]:
    deadline = time.monotonic() + max(0.0, seconds)
    pause = FIRST_POLL
    while True:
        state: dict[str, Any] = await api.get(path, **params)
        left = deadline - time.monotonic()
        if done(state) or left <= 0:
            return state
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 1.5, MAX_POLL)
