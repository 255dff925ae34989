"""GET /api/v1/guests/{vmid}: the guest page's data as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from app.deps import DetailDep, require_principal
from app.http.csrf import verify_csrf
from app.services.audit import redact
from app.services.cluster import GuestDetail, SnapshotNode

router = APIRouter(
    prefix="/api/v1", tags=["guests"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]


def _snapshots(nodes: list[SnapshotNode]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for node in nodes:
        flat.append({k: v for k, v in asdict(node).items() if k != "children"})
        flat.extend(_snapshots(node.children))
    return flat


def detail_json(view: GuestDetail) -> dict[str, Any]:
    """The detail in plain JSON types; secrets in the config are redacted."""
    g = view.guest
    return {
        "vmid": g.vmid,
        "name": g.name,
        "type": g.type,
        "node": g.node,
        "status": g.status,
        "lock": g.lock,
        "template": g.template,
        "qmpstatus": g.qmpstatus,
        "node_offline": view.node_offline,
        "usage": {
            k: view.status.get(k) for k in ("cpu", "cpus", "mem", "maxmem", "disk", "maxdisk", "uptime")
        },
        "config": redact(view.config),
        "disks": [asdict(d) for d in view.disks],
        "addresses": [
            {
                "address": str(i.address),
                "prefix_length": i.prefix_length,
                "interface": i.interface,
                "mac": i.mac,
                "sources": list(i.sources),
            }
            for i in (view.ips.items() if view.ips else [])
        ],
        "address_notes": [n.message for n in view.ips.notes] if view.ips else [],
        "snapshots": _snapshots(view.snapshots),
        "backups": [
            {
                "volid": b.volume.volid,
                "storage": b.storage,
                "node": b.node,
                "size": b.volume.size,
                "ctime": b.created,
                "notes": b.volume.notes,
                "protected": b.volume.protected,
            }
            for b in view.backups
        ],
        "tasks": [
            {"upid": t.upid, "type": t.type, "status": t.status, "starttime": t.starttime} for t in view.tasks
        ],
        "operations": [op.name for op in view.operations],
        "problems": {p.name: p.problem for p in view.problems},
    }


@router.get("/guests/{vmid}")
async def guest_detail(vmid: Vmid, service: DetailDep) -> dict[str, Any]:
    """Status, usage, config, disks, addresses, snapshots, backups, recent tasks and available operations."""
    return detail_json(await service.detail(vmid))
