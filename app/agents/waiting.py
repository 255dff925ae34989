"""Waiting for a task's end or a request's decision, by polling the API (one code path for ctl and MCP).

Whoever waits may be told how it stands after every poll (the MCP server sends it on as progress
notifications): set REPORT around the wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
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
# (seconds waited, seconds it may wait, how it stands in words): after each poll that found it not done yet.
Report = Callable[[float, float, str], Awaitable[None]]
REPORT: ContextVar[Report | None] = ContextVar("REPORT", default=None)


def task_failed(task: dict[str, Any]) -> bool:
    """True once the task stopped with an error (PVE's 'WARNINGS: n' counts as done)."""
    return task.get("state") == "error"


def task_state(task: dict[str, Any]) -> str:
    """'Task qmstart of 100 on pve1: running.'"""
    guest = f" of {task['id']}" if task.get("id") else ""
    return f"Task {task.get('type')}{guest} on {task.get('node')}: {task.get('state') or task.get('status')}."


def request_state(request: dict[str, Any]) -> str:
    """'Request 42 (delete 9123): pending, a person decides at URL.'"""
    target = (request.get("target") or {}).get("vmid")
    what = f"{request.get('operation')} {target}" if target else request.get("operation")
    status = request.get("status")
    if status == "pending":
        return f"Request {request.get('id')} ({what}): pending, a person decides at {request.get('url')}."
    return f"Request {request.get('id')} ({what}): {status}."


def listing_state(page: dict[str, Any]) -> str:
    """'Read 812 of 2,000 guests' configurations.' (the listing's own progress line)."""
    return str((page.get("progress") or {}).get("text") or "Proxgate is still reading the guests.")


async def wait_task(api: ProxgateApi, upid: str, seconds: float = DEFAULT_WAIT) -> dict[str, Any]:
    """The task (status, exit status, log) once it stopped, or as it is when the time is up."""
    path = f"/api/v1/tasks/{path_segment(upid)}"
    return await _poll(api, path, seconds, lambda task: task.get("state") != "running", task_state)


async def wait_request(api: ProxgateApi, request_id: int, seconds: float = DEFAULT_WAIT) -> dict[str, Any]:
    """The request once decided and run (or rejected, cancelled, expired), or as it is when the time is up."""
    path = f"/api/v1/requests/{int(request_id)}"
    return await _poll(api, path, seconds, lambda request: request.get("status") in FINISHED, request_state)


def batch_state(batch: dict[str, Any]) -> str:
    """'Batch Ab12 (shutdown of 10 guests): running; 4 succeeded, 2 running, 4 waiting.'"""
    counts = ", ".join(f"{n} {status}" for status, n in (batch.get("counts") or {}).items() if n)
    what = f"{batch.get('operation')} of {len(batch.get('items') or [])} guests"
    return f"Batch {batch.get('batch_id')} ({what}): {batch.get('status')}; {counts}."


async def wait_batch(api: ProxgateApi, batch_id: str, seconds: float = DEFAULT_WAIT) -> dict[str, Any]:
    """The batch once every guest's part ended (or it was stopped), or as it is when the time is up."""
    path = f"/api/v1/bulk/{path_segment(batch_id)}"
    return await _poll(api, path, seconds, lambda b: b.get("status") in ("done", "stopped"), batch_state)


async def wait_complete(api: ProxgateApi, path: str, seconds: float | None = None) -> None:
    """Return once the listing at path says it is complete (Proxgate has read every guest), or when the time
    (LISTING_WAIT unless given) is up."""
    wait = LISTING_WAIT if seconds is None else seconds
    await _poll(
        api, path, wait, lambda page: page.get("complete") is not False, listing_state, limit=1, notes_limit=0
    )


async def _poll(
    api: ProxgateApi,
    path: str,
    seconds: float,
    done: Callable[[dict[str, Any]], bool],
    words: Callable[[dict[str, Any]], str],
    **params: Any,
) -> dict[str, Any]:
    start = time.monotonic()
    deadline = start + max(0.0, seconds)
    pause = FIRST_POLL
    report = REPORT.get()
    while True:
        state: dict[str, Any] = await api.get(path, **params)
        left = deadline - time.monotonic()
        if done(state) or left <= 0:
            return state
        if report is not None:
            await report(round(time.monotonic() - start, 1), seconds, words(state))
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 1.5, MAX_POLL)
