"""What an edit form of a guest's configuration is drawn from: its config as Proxmox has it now (pending changes
applied, with its digest), the changes waiting for a reboot, and the bridges of its node."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from app.operations.base import Guest
from app.operations.network import node_bridges
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveNotFound
from app.proxmox.paths import GuestPath, StoragePath
from app.services.errors import NotFound


@dataclass(frozen=True)
class PendingChange:
    """A config key whose new value (or removal) waits for the guest's next start."""

    key: str
    value: str | None
    pending: str | None
    delete: bool


@dataclass
class EditSource:
    """The guest and its config now, its pending changes and the bridges its node offers."""

    guest: Guest
    config: dict[str, Any]
    bridges: list[str] = field(default_factory=list)
    pending: list[PendingChange] = field(default_factory=list)
    # The ISO images the node's storages hold, for a VM's CD-ROM drives.
    isos: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """The digest of the config the form is drawn from; Proxmox refuses the edit once it changed."""
        return str(self.config.get("digest") or "")


def pending_changes(items: Any) -> list[PendingChange]:
    """The entries of GET .../pending that wait for a restart (a new value, or a removal)."""
    found = []
    for item in items or []:
        if not isinstance(item, dict) or ("pending" not in item and not item.get("delete")):
            continue
        value, pending = item.get("value"), item.get("pending")
        found.append(
            PendingChange(
                str(item.get("key")),
                None if value is None else str(value),
                None if pending is None else str(pending),
                bool(item.get("delete")),
            )
        )
    return sorted(found, key=lambda p: p.key)


def config_with_pending(items: Any) -> dict[str, Any]:
    """What GET .../config answers (pending values applied, pending removals gone), from GET .../pending's items.

    Both are read from the same config file, and PVE's /pending lists every plain key of it, its digest included
    (GuestHelpers::config_with_pending_array); a Proxmox that left the digest out gives a config without one.
    """
    config: dict[str, Any] = {}
    for item in items or []:
        if not isinstance(item, dict) or "key" not in item or item.get("delete"):
            continue
        if "pending" in item:
            config[str(item["key"])] = item["pending"]
        elif "value" in item:
            config[str(item["key"])] = item["value"]
    return config


async def edit_source(pve: PveClient, vmid: int) -> EditSource:
    """Read the guest's status, config, pending changes and its node's bridges now; NotFound when it is gone."""
    try:
        where = await pve.locate(vmid)
        path = GuestPath(where.node, where.type, vmid)
        status, config, pending = await asyncio.gather(
            pve.get(path.status("current")), pve.get(path.config), pve.get(path.pending)
        )
    except PveNotFound:
        raise NotFound(f"There is no guest {vmid}.") from None
    guest = Guest.from_status(vmid, where.node, where.type, status or {})
    guest.config = dict(config or {})
    bridges, isos = await asyncio.gather(
        _or_none(node_bridges(pve, where.node)),
        _or_none(node_isos(pve, where.node) if where.type == "qemu" else None),
    )
    return EditSource(guest, guest.config, bridges, pending_changes(pending), isos)


async def _or_none(read: Awaitable[list[str]] | None) -> list[str]:
    """What a read for the form's choices found; nothing when it failed (the form offers the current value)."""
    if read is None:
        return []
    try:
        return await read
    except PveError:
        return []


async def node_isos(pve: PveClient, node: str) -> list[str]:
    """The ISO images on the storages the node can use, by volume id."""
    resources = await pve.cluster_resources()
    stores = [
        s.storage
        for s in resources.storages
        if s.node == node and "iso" in s.content and s.status == "available"
    ]
    lists = await asyncio.gather(*(pve.get(StoragePath(node, s).content, content="iso") for s in stores))
    return sorted(
        {str(i["volid"]) for items in lists for i in items or [] if isinstance(i, dict) and i.get("volid")}
    )
