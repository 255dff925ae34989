"""What the 'new guest' forms offer: online nodes, templates, ISO images and the storages that fit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from app.operations.base import Refused
from app.operations.network import node_bridges
from app.operations.placement import free_vmid
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.paths import StoragePath

# Content listings per storage: bounded, since a cluster can have many storages.
CONCURRENCY = 4


@dataclass
class ProvisionChoices:
    """Choices for the create forms, and what could not be listed."""

    nodes: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    isos: list[str] = field(default_factory=list)
    disk_storages: list[str] = field(default_factory=list)
    rootfs_storages: list[str] = field(default_factory=list)
    # (bridge, label): every online node's bridges; the label names the nodes when not all have it.
    bridges: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # The VMID a new guest gets when none is given (None when Proxmox could not say).
    next_vmid: int | None = None
    # The nodes that see each template and ISO (a node's local storage is its own).
    seen_from: dict[str, list[str]] = field(default_factory=dict)

    def only_on(self, volid: str) -> list[str]:
        """The nodes that see the volume when not every online node does, else []."""
        nodes = self.seen_from.get(volid, [])
        return nodes if len(nodes) < len(self.nodes) else []


async def provision_choices(pve: PveClient) -> ProvisionChoices:
    """Read the cluster view once and the ISO/template lists of each storage that holds them."""
    resources = await pve.cluster_resources()
    online = {n.node for n in resources.nodes if n.online}
    usable = [s for s in resources.storages if s.node in online and s.status == "available"]
    choices = ProvisionChoices(
        nodes=sorted(online),
        disk_storages=sorted({s.storage for s in usable if "images" in s.content}),
        rootfs_storages=sorted({s.storage for s in usable if "rootdir" in s.content}),
    )
    # A shared storage lists the same everywhere: one node asks for all that see it. A local one is each node's own.
    wanted: dict[tuple[str, str, str], list[str]] = {}
    for s in usable:
        for kind in ("vztmpl", "iso"):
            if kind in s.content:
                asker = next((k for k in wanted if s.shared and k[:2] == (s.storage, kind)), None)
                wanted.setdefault(asker or (s.storage, kind, s.node), []).append(s.node)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def listing(storage: str, kind: str, node: str) -> list[str]:
        async with limit:
            try:
                items = await pve.get(StoragePath(node, storage).content, content=kind)
            except PveError as exc:
                choices.problems.append(f"{storage}: {exc}")
                return []
        return [str(i["volid"]) for i in items or [] if isinstance(i, dict) and i.get("volid")]

    keys = list(wanted)
    lists = await asyncio.gather(*(listing(*key) for key in keys))
    for key, volids in zip(keys, lists, strict=True):
        (choices.templates if key[1] == "vztmpl" else choices.isos).extend(volids)
        for volid in volids:
            seen = choices.seen_from.setdefault(volid, [])
            seen += [n for n in wanted[key] if n not in seen]
    choices.templates = sorted(set(choices.templates))
    choices.isos = sorted(set(choices.isos))
    choices.bridges = await bridge_choices(pve, choices.nodes, choices.problems)
    choices.next_vmid = await next_vmid(pve)
    return choices


async def next_vmid(pve: PveClient) -> int | None:
    """The next free VMID as Proxmox hands it out now; None when it cannot be read (the form still works)."""
    try:
        return await free_vmid(pve, None)
    except (PveError, Refused):
        return None


async def bridge_choices(pve: PveClient, nodes: list[str], problems: list[str]) -> list[tuple[str, str]]:
    """(bridge, label) of the bridges the nodes have; a label names the nodes when only some have it."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def of(node: str) -> list[str]:
        async with limit:
            try:
                return await node_bridges(pve, node)
            except PveError as exc:
                problems.append(f"bridges of {node}: {exc}")
                return []

    found = dict(zip(nodes, await asyncio.gather(*(of(n) for n in nodes)), strict=True))
    where: dict[str, list[str]] = {}
    for node, bridges in found.items():
        for bridge in bridges:
            where.setdefault(bridge, []).append(node)
    if not where:
        return [("vmbr0", "vmbr0 (the bridges could not be listed)")]
    return [
        (b, b if len(ns) == len(nodes) else f"{b} (only {', '.join(ns)})") for b, ns in sorted(where.items())
    ]
