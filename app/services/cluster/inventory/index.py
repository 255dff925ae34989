"""The searchable view of one /cluster/resources answer: lower-cased keys, facets and sort orders, built once.

A ClusterResources object lives for resources_ttl seconds and is shared by every page view in that time, so
everything that does not depend on the query is computed once per object: a search over 10,000 guests is then
one pass of cheap comparisons over positions that are already in the asked-for order.

The keys are kept in parallel lists (position i is guest i) of strings and ints rather than in an object per
guest: strings and ints are not tracked by the cycle collector, so 10,000 guests add three lists, not 10,000
objects, to every full garbage collection of the process.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from app.proxmox.models import ClusterResources, GuestResource
from app.services.cluster.inventory.query import GuestFilter

_DIGITS = re.compile(r"(\d+)")
Test = Callable[[int], bool]


def natural_key(text: str) -> tuple[Any, ...]:
    """'web10' after 'web9': digit runs compare as numbers (they sit at odd positions, text at even ones)."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(text.lower())))


@dataclass(frozen=True)
class Facet:
    """One value of a filter dropdown and how many guests have it."""

    value: str
    count: int
    online: bool = True


@dataclass(frozen=True)
class Facets:
    """The values the filters offer, counted over all guests."""

    nodes: list[Facet] = field(default_factory=list)
    tags: list[Facet] = field(default_factory=list)
    pools: list[Facet] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    templates: int = 0


class InventoryIndex:
    """Search keys, facets and sort orders of one ClusterResources; `resources` is the object it was built from."""

    def __init__(self, resources: ClusterResources) -> None:
        self.resources = resources
        self.guests: list[GuestResource] = resources.guests
        self.names = [g.name.lower() for g in self.guests]
        self.vmids = [str(g.vmid) for g in self.guests]
        # Guests share a few dozen tag sets: each is lower-cased once, and the frozensets are shared.
        shared: dict[tuple[str, ...], frozenset[str]] = {}
        self.tags = [
            shared.get(key) or shared.setdefault(key, frozenset(t.lower() for t in key))
            for key in (tuple(g.tags) for g in self.guests)
        ]
        self.offline_nodes = frozenset(n.node for n in resources.nodes if not n.online)
        self.notes = self._notes()
        self._orders: dict[tuple[str, str], list[int]] = {}

    def __len__(self) -> int:
        return len(self.guests)

    @cached_property
    def facets(self) -> Facets:
        """The filter menus' values with counts (only the full page needs them, so built on first use)."""
        guests = self.guests
        nodes = Counter({n.node: 0 for n in self.resources.nodes})
        nodes.update(g.node for g in guests)
        tags: Counter[str] = Counter()
        for tagset, count in Counter(self.tags).items():
            for tag in tagset:
                tags[tag] += count
        pools = Counter(g.pool for g in guests if g.pool)
        return Facets(
            nodes=[Facet(n, c, n not in self.offline_nodes) for n, c in sorted(nodes.items(), key=_natural)],
            tags=[Facet(t, c) for t, c in sorted(tags.items())],
            pools=[Facet(p, c) for p, c in sorted(pools.items(), key=lambda i: i[0].lower())],
            statuses=dict(Counter(g.status for g in guests)),
            types=dict(Counter(g.type for g in guests)),
            templates=sum(1 for g in guests if g.template),
        )

    def _notes(self) -> tuple[str, ...]:
        """What a list built from these resources cannot show, and why."""
        if self.guests and not self.resources.nodes:
            return (
                "Node states are hidden: the API token lacks Sys.Audit on /nodes, so an offline node cannot be "
                "told apart from guests whose state is unknown.",
            )
        return ()

    def ordered(self, sort: str, order: str) -> Sequence[int]:
        """Every position in this order; each column and direction is sorted once per index."""
        rows = self._orders.get((sort, order))
        if rows is None:
            rows = sorted(range(len(self.guests)), key=self._sort_key(sort), reverse=order == "desc")
            self._orders[(sort, order)] = rows
        return rows

    def _sort_key(self, sort: str) -> Callable[[int], Any]:
        guests, names = self.guests, self.names
        if sort == "vmid":
            return lambda i: guests[i].vmid
        if sort == "name":
            return lambda i: (natural_key(names[i]), guests[i].vmid)
        if sort == "node":
            return lambda i: (natural_key(guests[i].node), guests[i].vmid)
        if sort == "tags":
            tagsets = self.tags
            return lambda i: (sorted(tagsets[i]), guests[i].vmid)
        if sort == "pool":
            return lambda i: ((guests[i].pool or "").lower(), guests[i].vmid)
        # PVE reports no disk use for VMs (always 0), so the size is what every row can be compared by.
        field_name = "maxdisk" if sort == "disk" else sort
        # Ties are broken by vmid so the order is stable from one refresh to the next.
        return lambda i: (getattr(guests[i], field_name), guests[i].vmid)

    def select(self, query: GuestFilter, ip_matches: dict[str, set[int]] | None = None) -> Sequence[int]:
        """The positions of the guests the query's search and filters keep, in its sort order."""
        found = ip_matches or {}
        tests = self._filters(query) + [self._term_test(t, found.get(t, set())) for t in terms(query.q)]
        rows = self.ordered(query.sort, query.order)
        # One pass per test: each pass is a tight comprehension over what the previous one kept.
        for test in tests:
            rows = [i for i in rows if test(i)]
        return rows

    def _filters(self, query: GuestFilter) -> list[Test]:
        guests = self.guests
        tests: list[Test] = [
            _equals(guests, attribute, getattr(query, attribute))
            for attribute in ("node", "type", "status", "pool")
            if getattr(query, attribute) is not None
        ]
        if query.tag is not None:
            tag, tagsets = query.tag.lower(), self.tags
            tests.append(lambda i: tag in tagsets[i])
        if query.template is not None:
            template = query.template == "yes"
            tests.append(lambda i: guests[i].template == template)
        return tests

    def _term_test(self, term: str, ip_vmids: set[int]) -> Test:
        names, tagsets, vmids, guests = self.names, self.tags, self.vmids, self.guests

        def words(i: int) -> bool:
            return term in names[i] or term in tagsets[i]

        def words_or_vmid(i: int) -> bool:
            return vmids[i].startswith(term) or term in names[i] or term in tagsets[i]

        test = words_or_vmid if term.isdigit() else words
        if not ip_vmids:
            return test
        return lambda i: test(i) or guests[i].vmid in ip_vmids


def terms(text: str | None) -> list[str]:
    """The search's words, lower-cased: each must match (vmid, name, tag or address)."""
    return text.lower().split() if text else []


def _equals(guests: list[GuestResource], attribute: str, wanted: str) -> Test:
    return lambda i: getattr(guests[i], attribute) == wanted


def _natural(item: tuple[str, int]) -> tuple[Any, ...]:
    return natural_key(item[0])
