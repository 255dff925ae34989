"""GET /api/v1/cluster, /api/v1/nodes and /api/v1/me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.deps import ClusterDep, PrincipalDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, PagingDep

router = APIRouter(
    prefix="/api/v1", tags=["cluster"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class NodeOut(BaseModel):
    """A node's state and usage."""

    node: str
    status: str
    ip: str | None
    cpu: float
    maxcpu: int
    mem: int
    maxmem: int
    disk: int
    maxdisk: int
    uptime: int
    version: str | None
    guests_running: int
    guests_total: int


class ClusterOut(BaseModel):
    """Quorum, versions and guest counts."""

    name: str | None
    quorate: bool | None
    versions: list[str]
    nodes_online: int
    nodes_total: int
    guests: dict[str, int]
    storage_warnings: list[str]
    problems: list[str]


class MeOut(BaseModel):
    """The caller as Proxgate sees them."""

    username: str
    role: str
    auth: str


@router.get("/cluster", response_model=ClusterOut)
async def cluster(service: ClusterDep) -> dict[str, Any]:
    """Quorum, PVE versions, node and guest counts, storages above 85 %."""
    view = await service.overview()
    return {
        "name": view.name,
        "quorate": view.quorate,
        "versions": sorted({n.version for n in view.nodes if n.version}),
        "nodes_online": sum(n.online for n in view.nodes),
        "nodes_total": len(view.nodes),
        "guests": {
            "running": view.running,
            "stopped": view.stopped,
            "templates": view.templates,
            "vms": view.vms,
            "containers": view.containers,
        },
        "storage_warnings": [
            s.storage if s.shared else f"{s.node}/{s.storage}" for s in view.storages if s.warn
        ],
        "problems": view.problems,
    }


@router.get("/nodes", response_model=ListPage[NodeOut])
async def nodes(service: ClusterDep, paging: PagingDep) -> dict[str, Any]:
    """Every node with status, usage and PVE version."""
    view = await service.overview()
    rows = [
        {
            "node": n.name,
            "status": "online" if n.online else "offline",
            "ip": n.ip,
            "cpu": n.cpu,
            "maxcpu": n.maxcpu,
            "mem": n.mem,
            "maxmem": n.maxmem,
            "disk": n.disk,
            "maxdisk": n.maxdisk,
            "uptime": n.uptime,
            "version": n.version,
            "guests_running": n.guests_running,
            "guests_total": n.guests_total,
        }
        for n in view.nodes
    ]
    return paging.page(rows)


@router.get("/me", response_model=MeOut)
async def me(principal: PrincipalDep) -> dict[str, str]:
    """Who the token or session acts as, and with which role."""
    return {"username": principal.username, "role": principal.role, "auth": principal.method}
