"""What HA says about where its guests may run: the nodes in maintenance mode, and each resource's preferred
nodes (PVE 8's HA groups, PVE 9's node-affinity rules), read once for a whole plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.paths import HA_GROUPS, HA_RESOURCES, HA_RULES, HA_STATUS


@dataclass(frozen=True)
class Affinity:
    """The nodes HA prefers for a resource, best first, and whether it may run nowhere else."""

    source: str
    nodes: tuple[str, ...]
    strict: bool


@dataclass
class HaFacts:
    """The nodes HA keeps in maintenance mode, and each resource's affinity (by sid: 'vm:100', 'ct:101')."""

    maintenance: set[str] = field(default_factory=set)
    affinity: dict[str, Affinity] = field(default_factory=dict)

    def order(self, sid: str, nodes: list[str]) -> tuple[list[str], str]:
        """The candidate nodes in HA's order of preference (strict rules drop the others), and why."""
        found = self.affinity.get(sid)
        if found is None:
            return nodes, ""
        preferred = [n for n in found.nodes if n in nodes]
        rest = [] if found.strict else [n for n in nodes if n not in preferred]
        only = "only " if found.strict else ""
        return preferred + rest, f"{found.source} allows {only}{', '.join(found.nodes)}"


def ranked(spec: str) -> tuple[str, ...]:
    """'pve1:2,pve2,pve3:1' as its node names, highest priority first (a node without one has 0)."""
    pairs = []
    for part in spec.split(","):
        name, _, priority = part.strip().partition(":")
        if name:
            pairs.append((-int(priority) if priority.isdigit() else 0, name))
    return tuple(name for _, name in sorted(pairs, key=lambda p: p[0]))


async def _read(pve: PveClient, path: str) -> list[dict[str, Any]]:
    """A list HA may not have (PVE 8 knows no rules, PVE 9 no groups): empty when Proxmox says no."""
    try:
        answer = await pve.get(path)
    except PveError:
        return []
    return [item for item in answer or [] if isinstance(item, dict)]


async def read_ha(pve: PveClient) -> HaFacts:
    """HA's maintenance nodes (its LRM reports 'maintenance mode') and its groups and node-affinity rules."""
    facts = HaFacts()
    for entry in await _read(pve, HA_STATUS):
        if str(entry.get("id", "")).startswith("lrm:") and "maintenance" in str(entry.get("status", "")):
            facts.maintenance.add(str(entry.get("node")))
    groups = {str(g.get("group")): g for g in await _read(pve, HA_GROUPS)}
    for resource in await _read(pve, HA_RESOURCES):
        group = groups.get(str(resource.get("group")))
        if group is not None:
            strict = str(group.get("restricted", 0)) == "1"
            nodes = ranked(str(group.get("nodes", "")))
            facts.affinity[str(resource.get("sid"))] = Affinity(f"HA group {group['group']}", nodes, strict)
    for rule in await _read(pve, HA_RULES):
        if rule.get("type") != "node-affinity" or str(rule.get("disable", 0)) == "1":
            continue
        nodes = ranked(str(rule.get("nodes", "")))
        for sid in str(rule.get("resources", "")).split(","):
            strict = str(rule.get("strict", 0)) == "1"
            facts.affinity[sid.strip()] = Affinity(f"HA rule {rule.get('rule')}", nodes, strict)
    return facts
