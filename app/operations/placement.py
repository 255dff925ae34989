"""Checks that provisioning shares: a free VMID, an online node, a storage that takes the content."""

from __future__ import annotations

from typing import Any

from app.operations.base import Refused
from app.proxmox.client import PveClient
from app.proxmox.errors import PveRejected
from app.proxmox.paths import NEXTID, StoragePath

NODE = r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$"
STORAGE = r"^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$"
# PVE's dns-name format; fields using it also set max_length=63.
DNS_NAME = r"^[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?)*$"
BRIDGE = r"^[A-Za-z][A-Za-z0-9_.\-]{0,14}$"
# Contents a new guest picks from what the node sees: a refusal names the ones there are (at most CHOICES).
OFFERED = {"iso": "ISO image", "vztmpl": "container template"}
CHOICES = 12


async def free_vmid(pve: PveClient, wanted: int | None, field: str = "vmid") -> int:
    """The wanted VMID if free, or the next free one from /cluster/nextid (which PVE sends as a string)."""
    try:
        answer = await pve.get(NEXTID, **({"vmid": wanted} if wanted else {}))
    except PveRejected as exc:
        raise Refused(exc.errors.get("vmid") or str(exc), field=field) from None
    return int(answer)


async def online_node(pve: PveClient, node: str, field: str = "node") -> None:
    """Refuse a node that is unknown or offline (naming the form's `field` that chose it)."""
    resources = await pve.cluster_resources()
    states = {n.node: n.online for n in resources.nodes}
    if node not in states:
        raise Refused(f"There is no node '{node}'; choose one of: {', '.join(sorted(states))}.", field=field)
    if not states[node]:
        raise Refused(f"Node {node} is offline.", field=field)


async def storage_for(pve: PveClient, node: str, storage: str, content: str, field: str) -> None:
    """Refuse a storage that is missing on the node or does not take this content."""
    fitting = await fitting_storages(pve, node, content)
    if storage not in fitting:
        offer = ", ".join(fitting) or "none"
        raise Refused(
            f"Storage '{storage}' cannot hold {content} on {node}; choose one of: {offer}.", field=field
        )


async def volume_exists(pve: PveClient, node: str, volid: str, content: str, field: str) -> dict[str, Any]:
    """The storage's entry for a volume (ISO, template, backup); Refused when the storage does not list it, and
    for an ISO or a template, naming the ones the node can see."""
    storage = volid.split(":", 1)[0]
    offered = content in OFFERED and storage not in await fitting_storages(pve, node, content)
    items = [] if offered else await pve.get(StoragePath(node, storage).content, content=content)
    found = next((i for i in items or [] if isinstance(i, dict) and i.get("volid") == volid), None)
    if found is not None:
        return found
    message = f"'{volid}' is not on storage {storage} as seen from {node}"
    if content in OFFERED:
        valid = await visible_volumes(pve, node, content, {storage: items or []})
        shown = ", ".join(valid[:CHOICES]) + (
            f" (and {len(valid) - CHOICES} more)" if len(valid) > CHOICES else ""
        )
        message += f"; choose one of: {shown}" if valid else f"; {node} sees no {OFFERED[content]}"
    raise Refused(message + ".", field=field)


async def visible_volumes(pve: PveClient, node: str, content: str, read: dict[str, Any]) -> list[str]:
    """The volume ids of this content on every storage of the node that takes it (`read`: listings at hand)."""
    volids: list[str] = []
    for storage in await fitting_storages(pve, node, content):
        items = (
            read[storage]
            if storage in read
            else await pve.get(StoragePath(node, storage).content, content=content)
        )
        volids += [
            str(i["volid"])
            for i in items or []
            if isinstance(i, dict) and i.get("volid") and i.get("content", content) == content
        ]
    return sorted(set(volids))


async def fitting_storages(pve: PveClient, node: str, content: str) -> list[str]:
    """The available storages of the node that take this content, by name."""
    resources = await pve.cluster_resources()
    return sorted(
        {
            s.storage
            for s in resources.storages
            if s.node == node and content in s.content and s.status == "available"
        }
    )
