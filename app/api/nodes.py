"""GET /api/v1/nodes (every node) and /api/v1/nodes/{node} (its status, storage, guests and recent tasks)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from app.api.values import Number
from app.deps import ClusterDep, NodeDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, PagingDep
from app.services.cluster import NodeDetail

router = APIRouter(
    prefix="/api/v1", tags=["nodes"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
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


class NodeCpuOut(BaseModel):
    """The node's CPU: usage and IO wait as 0-1, the model and its counts, the 1, 5 and 15 minute loads."""

    usage: Number
    iowait: Number | None
    model: str | None
    sockets: int | None
    cores: int | None
    cpus: int
    loadavg: list[float]


class UsedTotalOut(BaseModel):
    """Used and total bytes (null when Proxmox did not say)."""

    used: Number | None
    total: Number | None


class NodeStorageOut(BaseModel):
    """A storage the node sees, and its usage in bytes."""

    storage: str
    type: str
    shared: bool
    used: int
    total: int


class NodeGuestsOut(BaseModel):
    """The node's guests: counts (templates apart) and every VMID."""

    total: int
    running: int
    templates: int
    vmids: list[int]


class NodeTaskOut(BaseModel):
    """A recent task of the node; `status` is PVE's (the exit status, or RUNNING)."""

    upid: str
    type: str
    id: str
    status: str | None
    starttime: int


class NodeDetailOut(BaseModel):
    """The node page's data; `problems` names each part that could not be read, with Proxmox's reason."""

    node: str
    status: str
    ip: str | None
    version: str | None
    pveversion: str | None
    kernel: str | None
    uptime: Number
    cpu: NodeCpuOut
    memory: UsedTotalOut
    swap: UsedTotalOut
    rootfs: UsedTotalOut
    storage: list[NodeStorageOut]
    guests: NodeGuestsOut
    tasks: list[NodeTaskOut]
    problems: dict[str, str]


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


@router.get("/nodes", name="list", response_model=ListPage[NodeOut])
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


@router.get("/nodes/{node}", name="detail", response_model=NodeDetailOut)
async def node_detail(service: NodeDep, node: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Status, PVE and kernel version, uptime, CPU model and load, memory, swap, storage, guests and tasks."""
    return node_json(await service.detail(node))
