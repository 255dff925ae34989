"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.deps import MaybePrincipalDep, client_ip, may_monitor, runtime_of
from app.services.errors import Forbidden, Unauthenticated

router = APIRouter(tags=["health"])


@router.get("/healthz", name="healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", name="readyz")
async def readyz(request: Request, principal: MaybePrincipalDep) -> JSONResponse:
    """The database and Proxmox both answer; 503 if not. What failed (which host, which token) is told only
    to a signed-in admin or the metrics token: anyone else learns ready or not."""
    checks = await runtime_of(request.app).readiness()
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable"}
    if may_monitor(request, principal):
        body["checks"] = checks
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", name="metrics")
async def metrics(request: Request, principal: MaybePrincipalDep) -> Response:
    """Prometheus exposition of request, upstream, cache and audit metrics (admins, the metrics token, or an
    address in PROXGATE_METRICS_ALLOW)."""
    if not (may_monitor(request, principal) or _listed(request)):
        if principal is None:
            raise Unauthenticated("Metrics need the metrics token, a signed-in admin or an allowed address.")
        raise Forbidden(f"Metrics need the admin role; you are {principal.role}.")
    return Response(runtime_of(request.app).metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _listed(request: Request) -> bool:
    """The caller's address is in PROXGATE_METRICS_ALLOW."""
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in runtime_of(request.app).settings.metrics_networks())
