"""GET /api/v1/cluster: quorum, versions and counts of the whole cluster."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.deps import ClusterDep, require_principal
from app.http.csrf import verify_csrf

router = APIRouter(
    prefix="/api/v1", tags=["cluster"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class GuestCountsOut(BaseModel):
    """How many guests the cluster has, by state and by kind."""

    running: int
    stopped: int
    templates: int
    vms: int
    containers: int


class ClusterOut(BaseModel):
    """Quorum, versions and guest counts."""

    name: str | None
    quorate: bool | None
    versions: list[str]
    nodes_online: int
    nodes_total: int
    guests: GuestCountsOut
    storage_warnings: list[str]
    problems: list[str]


@router.get("/cluster", name="overview", response_model=ClusterOut)
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
