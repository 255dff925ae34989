"""GET /api/v1/nodes/{node}: one node's status, versions, storage, guests and recent tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from app.deps import NodeDep, require_principal
from app.http.csrf import verify_csrf
from app.services.cluster import NodeDetail

router = APIRouter(
    prefix="/api/v1", tags=["cluster"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


def node_json(view: NodeDetail) -> dict[str, Any]:
    """The node page's data in plain JSON types (sizes in bytes, times in seconds, cpu and iowait as 0-1)."""
    cpuinfo, r = view.part("cpuinfo"), view.resource
    return {
        "node": view.name,
        "status": "online" if view.online else "offline",
        "ip": view.ip,
        "version": view.version,
        "pveversion": view.status.get("pveversion"),
        "kernel": view.kernel,
        "uptime": view.status.get("uptime", r.uptime),
        "cpu": {
            "usage": view.status.get("cpu", r.cpu),
            "iowait": view.status.get("wait"),
            "model": cpuinfo.get("model"),
            "sockets": cpuinfo.get("sockets"),
            "cores": cpuinfo.get("cores"),
            "cpus": cpuinfo.get("cpus", int(r.maxcpu)),
            "loadavg": [float(v) for v in view.loadavg],
        },
        "memory": {
            "used": view.part("memory").get("used", r.mem),
            "total": view.part("memory").get("total", r.maxmem),
        },
        "swap": {"used": view.part("swap").get("used"), "total": view.part("swap").get("total")},
        "rootfs": {
            "used": view.part("rootfs").get("used", r.disk),
            "total": view.part("rootfs").get("total", r.maxdisk),
        },
        "storage": [
            {"storage": s.storage, "type": s.plugintype, "shared": s.shared, "used": s.used, "total": s.total}
            for s in view.storages
        ],
        "guests": {
            "total": sum(not g.template for g in view.guests),
            "running": view.running,
            "templates": sum(g.template for g in view.guests),
            "vmids": [g.vmid for g in view.guests],
        },
        "tasks": [
            {"upid": t.upid, "type": t.type, "id": t.id, "status": t.status, "starttime": t.starttime}
            for t in view.tasks
        ],
        "problems": {p.name: p.problem for p in view.problems},
    }


@router.get("/nodes/{node}", name="api_node_detail")
async def node_detail(service: NodeDep, node: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Status, PVE and kernel version, uptime, CPU model and load, memory, swap, storage, guests and tasks."""
    return node_json(await service.detail(node))
