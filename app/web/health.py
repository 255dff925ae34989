"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from app.proxmox.errors import PveError

router = APIRouter(tags=["health"])


@router.get("/healthz", name="healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", name="readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database and Proxmox both answer; 503 naming what does not."""
    checks: dict[str, str] = {}
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 (any failure means not ready; the text says which)
        checks["database"] = f"error: {exc.__class__.__name__}: {exc}"
    try:
        await request.app.state.pve.version()
        checks["proxmox"] = "ok"
    except PveError as exc:
        checks["proxmox"] = f"error: {exc}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", name="metrics")
async def metrics(request: Request) -> Response:
    """Prometheus exposition of request, upstream and cache metrics."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
