"""Emptying a node, planned: where each of its guests goes and why (the target's free memory and storage, HA's
preferences, what the migration's own preflight refuses), or why it stays; and the way back afterwards."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from app.operations.base import Context, Guest, Refused
from app.operations.ha_placement import HaFacts, read_ha
from app.operations.migrate_checks import MoveFacts, preflight_migrate, read_move_facts
from app.operations.migrate_params import MigrateParams
from app.operations.sizes import parse_size, readable
from app.proxmox.client import PveClient
from app.proxmox.diskparse import parse_disks
from app.proxmox.errors import PveError, PveUnavailable
from app.proxmox.models import ClusterResources, GuestResource

# Guests whose checks run at once: each reads two things of Proxmox (its config and its migration
# precondition, which answers for every node), then judges each candidate node from them.
CHECKS_AT_ONCE = 6
# Nodes checked for each guest at first (HA's preferred ones first, else those with the most free memory); the
# others only for a guest none of these takes, so a big cluster is not asked every guest times every node.
FIRST_LOOK = 3


@dataclass
class Move:
    """One guest of the plan: migrated to `target`, moved by HA itself, or staying (with the reason)."""

    vmid: int
    name: str
    type: str
    status: str
    action: Literal["migrate", "ha", "stays"]
    reason: str
    target: str | None = None
    with_local_disks: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def online(self) -> bool:
        """A running guest moves while it runs (a VM live, a container by restarting it there)."""
        return self.status == "running"

    @property
    def params(self) -> dict[str, Any]:
        """The migrate operation's parameters for this move."""
        return {"target": self.target, "online": self.online, "with_local_disks": self.with_local_disks}


@dataclass
class Evacuation:
    """The plan for a node: a move per guest, whether HA keeps the node in maintenance mode, and notes."""

    node: str
    moves: list[Move]
    maintenance: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def migrations(self) -> list[Move]:
        """The moves Proxgate makes (one migration each)."""
        return [m for m in self.moves if m.action == "migrate"]


@dataclass
class _Candidate:
    node: str
    refusal: str | None
    warnings: list[str]


@dataclass
class _Looked:
    """A guest as read once: Proxmox's answers for the nodes asked so far, its local disk bytes by storage, and
    the facts the answers were judged from (the other nodes are judged from them too, when needed)."""

    found: list[_Candidate]
    local: dict[str, int]
    facts: MoveFacts | None


def _guest(r: GuestResource) -> Guest:
    return Guest(
        r.vmid, r.node, r.type, r.name, r.status, r.lock, r.template, ha_managed=r.hastate is not None
    )


def _sid(guest: Guest) -> str:
    return f"{'vm' if guest.type == 'qemu' else 'ct'}:{guest.vmid}"


async def _online_nodes(pve: PveClient, node: str) -> tuple[ClusterResources, list[str]]:
    """The cluster view and the other online nodes; Refused naming the nodes when `node` is unknown."""
    resources = await pve.cluster_resources()
    states = {n.node: n.status for n in resources.nodes}
    if node not in states:
        raise Refused(f"There is no node '{node}'; choose one of: {', '.join(sorted(states))}.", field="node")
    if states[node] != "online":
        raise Refused(
            f"Node {node} is offline: Proxmox cannot move its guests until it is back.", field="node"
        )
    return resources, sorted(n for n, s in states.items() if n != node and s == "online")


def _local_bytes(guest: Guest, config: dict[str, Any], resources: ClusterResources) -> dict[str, int]:
    """Bytes of the guest's disks on storage only its node has, by storage (what a move copies)."""
    shared = {s.storage for s in resources.storages if s.shared}
    found: dict[str, int] = defaultdict(int)
    for disk in parse_disks(guest.type, config):
        if disk.storage and disk.storage not in shared and not disk.cdrom:
            found[disk.storage] += parse_size(disk.size) or 0
    return dict(found)


async def _check(
    pve: PveClient, guest: Guest, target: str, with_local_disks: bool, facts: MoveFacts
) -> _Candidate:
    """The migrate operation's own preflight for this target: refused (why) or fine (its warnings)."""
    params = MigrateParams(target=target, online=guest.status == "running", with_local_disks=with_local_disks)
    try:
        return _Candidate(target, None, await preflight_migrate(Context(pve, guest), params, facts))
    except Refused as exc:
        return _Candidate(target, exc.message, [])
    except PveError as exc:
        return _Candidate(target, f"Proxmox answered: {exc}", [])


def _free(resources: ClusterResources, node: str, storage: str) -> int | None:
    """Bytes free on the node's storage of that name, or None when the node has no such storage."""
    there = next((s for s in resources.storages if s.node == node and s.storage == storage), None)
    return None if there is None else there.maxdisk - there.disk


def _space(local: dict[str, int], target: str, resources: ClusterResources) -> str | None:
    """Why the target's storage cannot take the local disks, or None when it can (a storage the target lacks
    is the preflight's refusal)."""
    for storage, size in local.items():
        free = _free(resources, target, storage)
        if free is not None and size > free:
            return f"its local disks need {readable(size)} on {storage}, which has {readable(free)} free on {target}"
    return None


def _storage_words(local: dict[str, int], target: str, resources: ClusterResources) -> str:
    if not local:
        return "no local disks to copy"
    return ", ".join(
        f"{readable(size)} of local disks to {storage} ({readable(_free(resources, target, storage))} free)"
        for storage, size in local.items()
    )


class _Planner:
    """Chooses a target per guest, taking each chosen guest's memory off its target's free memory."""

    def __init__(self, pve: PveClient, resources: ClusterResources, with_local_disks: bool):
        self.pve, self.resources = pve, resources
        self.with_local_disks = with_local_disks
        self.free = {n.node: n.maxmem - n.mem for n in resources.nodes}
        self.limit = asyncio.Semaphore(CHECKS_AT_ONCE)

    async def candidates(self, guest: Guest, nodes: list[str]) -> _Looked:
        """Each node's answer for the guest, from one read of its config and migration precondition."""
        async with self.limit:
            try:
                facts = await read_move_facts(Context(self.pve, guest), guest, with_config=True)
            except PveUnavailable:
                raise  # Proxmox cannot be asked: the plan cannot be made
            except PveError as exc:  # this guest's own trouble (gone, locked): each node gives that answer
                return _Looked([_Candidate(n, f"Proxmox answered: {exc}", []) for n in nodes], {}, None)
            local = _local_bytes(guest, facts.config or {}, self.resources)
            return _Looked(await self.answers(guest, nodes, facts), local, facts)

    async def answers(self, guest: Guest, nodes: list[str], facts: MoveFacts) -> list[_Candidate]:
        """Each node's answer for the guest: the migration's preflight, judged from the facts read."""
        wld = self.with_local_disks and guest.type == "qemu" and guest.status == "running"
        return list(await asyncio.gather(*(_check(self.pve, guest, n, wld, facts) for n in nodes)))

    async def place(self, r: GuestResource, order: list[str], why_ha: str, first: _Looked) -> Move:
        """The guest's move from the first nodes' answers, judging the others only when none of those will do."""
        move = self.choose(r, first.found, first.local, why_ha)
        if move.action == "stays" and len(order) > FIRST_LOOK and first.facts is not None:
            found = first.found + await self.answers(_guest(r), order[FIRST_LOOK:], first.facts)
            move = self.choose(r, found, first.local, why_ha)
        return move

    def choose(self, r: GuestResource, found: list[_Candidate], local: dict[str, int], why_ha: str) -> Move:
        """The admissible node with the most free memory (HA's order first), or why none will do."""
        refusals: dict[str, str] = {c.node: c.refusal for c in found if c.refusal is not None}
        for c in found:
            if c.refusal is None and (full := _space(local, c.node, self.resources)):
                refusals[c.node] = full
        fine = [c for c in found if c.node not in refusals]
        if not fine:
            none = f"{why_ha}, and none of those is online" if why_ha else "no other node is online"
            return _stays(r, _refusals(refusals) or none)
        need = r.maxmem if r.status == "running" else 0
        order = fine if why_ha else sorted(fine, key=lambda c: -self.free.get(c.node, 0))
        chosen = next((c for c in order if self.free.get(c.node, 0) >= need), None)
        if chosen is None:
            best = max(fine, key=lambda c: self.free.get(c.node, 0))
            most = readable(max(self.free.get(best.node, 0), 0))
            return _stays(r, f"it needs {readable(need)} of memory; the most free is {most} on {best.node}")
        self.free[chosen.node] -= need
        words = [
            *([why_ha] if why_ha else []),
            f"{readable(self.free[chosen.node])} memory free after it",
            _storage_words(local, chosen.node, self.resources),
        ]
        wld = self.with_local_disks and r.type == "qemu" and r.status == "running" and bool(local)
        move = Move(r.vmid, r.name, r.type, r.status, "migrate", "; ".join(words), chosen.node, wld)
        move.warnings = chosen.warnings
        return move


def _refusals(refusals: dict[str, str]) -> str:
    """Why no node will do: one reason when every node gave it, else each reason with the nodes that gave it."""
    nodes: dict[str, list[str]] = defaultdict(list)
    for node, text in refusals.items():
        nodes[text.rstrip(".")].append(node)
    if len(nodes) == 1 and len(refusals) > 1:
        return next(iter(nodes))
    return "; ".join(f"{', '.join(names)}: {text}" for text, names in nodes.items())


def _stays(r: GuestResource, why: str) -> Move:
    return Move(r.vmid, r.name, r.type, r.status, "stays", why)


async def plan_evacuation(pve: PveClient, node: str, with_local_disks: bool) -> Evacuation:
    """Where each guest of the node goes (running ones online, stopped ones offline), or why it stays."""
    resources, others = await _online_nodes(pve, node)
    rows = sorted(
        (g for g in resources.guests if g.node == node),
        key=lambda g: (g.status != "running", -g.maxmem, g.vmid),
    )
    # Read HA's state whenever it manages any guest: a node in maintenance mode may have none left on it.
    ha = await read_ha(pve) if any(g.hastate for g in resources.guests) else HaFacts()
    maintenance = node in ha.maintenance
    planner = _Planner(pve, resources, with_local_disks)
    plan = Evacuation(node, [], maintenance)
    roomiest = sorted(others, key=lambda n: -planner.free.get(n, 0))
    orders = {r.vmid: ha.order(_sid(_guest(r)), roomiest) for r in rows}
    moved_by_ha = {r.vmid for r in rows if r.hastate and maintenance}
    checked = await asyncio.gather(
        *(
            planner.candidates(_guest(r), orders[r.vmid][0][:FIRST_LOOK])
            for r in rows
            if r.vmid not in moved_by_ha
        )
    )
    answers = iter(checked)
    for r in rows:
        if r.vmid in moved_by_ha:
            why = f"HA moves it: {node} is in HA maintenance mode"
            plan.moves.append(Move(r.vmid, r.name, r.type, r.status, "ha", why))
            continue
        order, why_ha = orders[r.vmid]
        plan.moves.append(await planner.place(r, order, why_ha, next(answers)))
    plan.notes = _notes(node, rows, maintenance)
    return plan


def _notes(node: str, rows: list[GuestResource], maintenance: bool) -> list[str]:
    managed = sum(1 for r in rows if r.hastate)
    if not managed or maintenance:
        return []
    return [
        f"HA manages {managed} of these guests. Proxmox's API has no call for HA's maintenance mode: run "
        f"`ha-manager crm-command node-maintenance enable {node}` on a node and HA moves them itself (and "
        "keeps them away until it is disabled); otherwise Proxgate asks HA to migrate each one as planned."
    ]


async def plan_return(pve: PveClient, node: str, vmids: list[int], with_local_disks: bool) -> Evacuation:
    """Bringing guests back to the node they were moved from: each one's migration home, or why not."""
    resources, _others = await _online_nodes(pve, node)
    planner = _Planner(pve, resources, with_local_disks)
    plan = Evacuation(node, [])
    rows = [resources.by_vmid[v] for v in vmids if v in resources.by_vmid]
    gone = [v for v in vmids if v not in resources.by_vmid]
    away = [r for r in rows if r.node != node]
    checked = await asyncio.gather(*(planner.candidates(_guest(r), [node]) for r in away))
    answers = iter(checked)
    for r in rows:
        if r.node == node:
            plan.moves.append(Move(r.vmid, r.name, r.type, r.status, "stays", f"already on {node}"))
            continue
        looked = next(answers)
        plan.moves.append(planner.choose(r, looked.found, looked.local, ""))
    plan.moves += [Move(v, "", "", "unknown", "stays", "the cluster has no such guest now") for v in gone]
    return plan
