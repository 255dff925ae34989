"""What the bulk form's selects offer for a set of guests: nodes, storages, and the snapshots they all have."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.models import GuestResource
from app.proxmox.paths import GuestPath

# Guests whose snapshots are read at once.
READS = 8


@dataclass
class BulkChoices:
    """The lists, by the names the catalogue's widgets give them."""

    nodes: list[str] = field(default_factory=list)
    backup_storages: list[str] = field(default_factory=list)
    target_storages: list[str] = field(default_factory=list)
    # Snapshot names every one of the guests has (rolling back or deleting "the same" snapshot), oldest first.
    snapshots: list[str] = field(default_factory=list)

    def options(self) -> dict[str, list[str]]:
        """The lists as a form's `options`."""
        return {
            "other-nodes": self.nodes,
            "backup-storages": self.backup_storages,
            "target-storages": self.target_storages,
            "snapshots": self.snapshots,
            "snapshots-newest-first": self.snapshots[::-1],
        }


async def bulk_choices(pve: PveClient, vmids: Sequence[int], with_snapshots: bool) -> BulkChoices:
    """The choices for these guests (their snapshots only when asked: one read per guest)."""
    view = await pve.cluster_resources()
    online = {n.node for n in view.nodes if n.online}
    found = BulkChoices(nodes=sorted(online))
    usable = [s for s in view.storages if s.node in online and s.status == "available"]
    found.backup_storages = sorted({s.storage for s in usable if "backup" in s.content})
    found.target_storages = sorted({s.storage for s in usable if {"images", "rootdir"} & set(s.content)})
    if with_snapshots:
        found.snapshots = await _common_snapshots(pve, [g for v in vmids if (g := view.guest(v)) is not None])
    return found


async def _common_snapshots(pve: PveClient, guests: Sequence[GuestResource]) -> list[str]:
    gate = asyncio.Semaphore(READS)

    async def names(guest: GuestResource) -> list[str]:
        path = GuestPath(guest.node, guest.type, guest.vmid)
        async with gate:
            try:
                listed = await pve.get(path.snapshots) or []
            except PveError:
                return []
        ordered = sorted(listed, key=lambda s: int(s.get("snaptime") or 0))
        return [str(s["name"]) for s in ordered if s.get("name") and s.get("name") != "current"]

    lists = await asyncio.gather(*(names(g) for g in guests))
    if not lists:
        return []
    shared = set(lists[0]).intersection(*map(set, lists[1:]))
    return [name for name in lists[0] if name in shared]
