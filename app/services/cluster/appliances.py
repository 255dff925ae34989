"""The appliance templates Proxmox offers a node (GET /nodes/{node}/aplinfo), searchable, each marked with the
storages of the node that hold it already, and the storages a download may go to."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from app.operations.placement import fitting_storages
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.paths import NodePath, StoragePath
from app.services.cluster.nodes import require_node

# Storages listed at once.
CONCURRENCY = 4


@dataclass(frozen=True)
class Appliance:
    """One entry of the index; `stored` holds the volume ids of the copies on the node's storages."""

    template: str
    package: str
    section: str
    os: str
    version: str
    headline: str
    description: str
    type: str
    location: str
    infopage: str
    size: int | None
    stored: tuple[str, ...] = ()

    def matches(self, q: str) -> bool:
        """Whether every word of q is in its name, OS, section, version or description (any case)."""
        text = " ".join((self.template, self.package, self.os, self.section, self.version, self.headline))
        text = f"{text} {self.description}".lower()
        return all(word in text for word in q.lower().split())


@dataclass
class ApplianceList:
    """The node's appliances, sorted by section and name, the storages that take templates there, and what
    could not be read."""

    node: str
    appliances: list[Appliance] = field(default_factory=list)
    storages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def appliance_of(item: dict[str, Any], stored: tuple[str, ...]) -> Appliance:
    """An index entry as PVE::APLInfo gives it (every value a string; no size in Proxmox's own index)."""
    size = item.get("size")
    return Appliance(
        template=str(item.get("template", "")),
        package=str(item.get("package", "")),
        section=str(item.get("section", "")),
        os=str(item.get("os", "")),
        version=str(item.get("version", "")),
        headline=str(item.get("headline", "")),
        description=str(item.get("description", "")),
        type=str(item.get("type", "")),
        location=str(item.get("location", "")),
        infopage=str(item.get("infopage", "")),
        size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        stored=stored,
    )


async def list_appliances(pve: PveClient, node: str, q: str = "") -> ApplianceList:
    """The index for the node (only what matches q), each entry with the copies the node's storages hold."""
    await require_node(pve, node)
    result = ApplianceList(node, storages=await fitting_storages(pve, node, "vztmpl"))
    index, copies = await asyncio.gather(pve.get(NodePath(node).aplinfo), stored_templates(pve, result))
    entries = [i for i in index or [] if isinstance(i, dict) and i.get("template")]
    found = [appliance_of(i, tuple(copies.get(str(i["template"]), ()))) for i in entries]
    result.appliances = sorted(
        (a for a in found if a.matches(q)), key=lambda a: (a.section != "system", a.section, a.template)
    )
    return result


async def stored_templates(pve: PveClient, where: ApplianceList) -> dict[str, list[str]]:
    """File name -> volume ids of the templates on the node's template storages; a storage that cannot be
    listed is named in `problems`."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def listing(storage: str) -> list[str]:
        async with limit:
            try:
                items = await pve.get(StoragePath(where.node, storage).content, content="vztmpl")
            except PveError as exc:
                where.problems.append(f"{storage}: {exc}")
                return []
        return [str(i["volid"]) for i in items or [] if isinstance(i, dict) and i.get("volid")]

    copies: dict[str, list[str]] = {}
    for volids in await asyncio.gather(*(listing(s) for s in where.storages)):
        for volid in volids:
            copies.setdefault(volid.rsplit("/", 1)[-1], []).append(volid)
    return copies
