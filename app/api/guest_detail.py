"""GET /api/v1/guests/{vmid}: the guest page's data as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from app.api.snapshots import SnapshotOut
from app.api.values import Number
from app.deps import ConfigWatchDep, DetailDep, require_principal
from app.http.csrf import verify_csrf
from app.services.audit import Target, redact
from app.services.cluster import GuestDetail, SnapshotNode

router = APIRouter(
    prefix="/api/v1", tags=["guests"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]


class UsageOut(BaseModel):
    """What the guest uses now, as Proxmox's status reports it (null for what it left out)."""

    cpu: Number | None
    cpus: Number | None
    mem: Number | None
    maxmem: Number | None
    disk: Number | None
    maxdisk: Number | None
    uptime: Number | None


class DiskOut(BaseModel):
    """A disk line of the config: its key (scsi0, rootfs, mp0, unused0, ...), volume, size and mount point."""

    key: str
    storage: str | None
    volume: str
    size: str | None
    cdrom: bool
    mountpoint: str | None


class AddressOut(BaseModel):
    """One address of the guest and where it was seen (config, guest agent, container interfaces)."""

    address: str
    prefix_length: int | None
    interface: str | None
    mac: str | None
    sources: list[str]


class GuestBackupOut(BaseModel):
    """A backup of the guest (node is null on a shared storage; ctime in seconds since 1970)."""

    volid: str
    storage: str
    node: str | None
    size: int
    ctime: int | None
    notes: str | None
    protected: bool


class GuestTaskOut(BaseModel):
    """A recent task of the guest; `status` is PVE's (the exit status, or RUNNING)."""

    upid: str
    type: str
    status: str | None
    starttime: int


class PendingOut(BaseModel):
    """A config change that waits for the guest's next start through Proxmox: the value now, the new one, or
    its removal (`delete`)."""

    key: str
    value: str | None
    pending: str | None
    delete: bool


class GuestDetailOut(BaseModel):
    """The guest page's data: secrets of the config redacted, the snapshot tree flattened in its order, and in
    `problems` each part that could not be read, with Proxmox's reason."""

    vmid: int
    name: str
    type: str
    node: str
    status: str
    lock: str | None
    template: bool
    qmpstatus: str | None
    node_offline: bool
    usage: UsageOut
    config: dict[str, Any]
    pending: list[PendingOut]
    disks: list[DiskOut]
    addresses: list[AddressOut]
    address_notes: list[str]
    snapshots: list[SnapshotOut]
    backups: list[GuestBackupOut]
    tasks: list[GuestTaskOut]
    operations: list[str]
    problems: dict[str, str]


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
        "pending": [
            {
                **asdict(p),
                "value": redact({p.key: p.value})[p.key],
                "pending": redact({p.key: p.pending})[p.key],
            }
            for p in view.pending
        ],
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


@router.get("/guests/{vmid}", name="detail", response_model=GuestDetailOut)
async def guest_detail(vmid: Vmid, service: DetailDep, configs: ConfigWatchDep) -> dict[str, Any]:
    """Status, usage, config, disks, addresses, snapshots, backups, recent tasks and available operations."""
    view = await service.detail(vmid)
    # The config read here also tells whether it changed without Proxgate since it was last read.
    g = view.guest
    await configs.seen(Target(g.node, g.type, g.vmid, g.name or None), view.config)
    return detail_json(view)
