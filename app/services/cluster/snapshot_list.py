"""A guest's snapshots exactly as Proxmox lists them, PVE's 'current' entry included (for scripts and agents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.proxmox.client import PveClient
from app.proxmox.errors import PveNotFound
from app.proxmox.paths import GuestPath
from app.services.errors import NotFound


@dataclass(frozen=True)
class SnapshotEntry:
    """One entry of GET /nodes/{node}/{type}/{vmid}/snapshot; `current` is where the guest is now."""

    name: str
    description: str
    snaptime: int | None
    vmstate: bool
    parent: str | None
    current: bool


def snapshot_entry(item: dict[str, Any]) -> SnapshotEntry:
    """PVE's item, typed; 'current' keeps PVE's own description ('You are here!')."""
    name = str(item.get("name", ""))
    return SnapshotEntry(
        name=name,
        description=str(item.get("description") or ""),
        snaptime=int(item["snaptime"]) if item.get("snaptime") not in (None, "") else None,
        vmstate=bool(int(item.get("vmstate") or 0)),
        parent=str(item["parent"]) if item.get("parent") else None,
        current=name == "current",
    )


class SnapshotListService:
    """Reads snapshot lists through the shared client; the guest is found by VMID alone."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve

    async def snapshots(self, vmid: int) -> list[SnapshotEntry]:
        """Proxmox's list in Proxmox's order; NotFound when no guest has this VMID."""
        try:
            where = await self.pve.locate(vmid)
        except PveNotFound:
            raise NotFound(f"There is no guest {vmid}.") from None
        data = await self.pve.get(GuestPath(where.node, where.type, vmid).snapshots)
        return [snapshot_entry(item) for item in data or [] if isinstance(item, dict)]
