"""InventoryService: the guest list (search, filters, sort, pages) and the header search, from one cached
/cluster/resources answer; no other upstream call is made."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from app.proxmox.client import PveClient
from app.proxmox.models import GuestResource
from app.services.cluster.inventory.index import Facets, InventoryIndex, terms
from app.services.cluster.inventory.query import DEFAULT_PER_PAGE, GuestFilter, GuestQuery


class IpLookup(Protocol):
    """Guests by address, from what is already known (no upstream call)."""

    def vmids_for_ip(self, text: str) -> set[int]:
        """The vmids whose known addresses match text."""
        ...


@dataclass
class GuestPage:
    """One page of the guest list, with what the filters offer and what is missing."""

    rows: list[GuestResource]
    total: int
    page: int
    pages: int
    per_page: int
    facets: Facets
    offline_nodes: frozenset[str]
    guests_in_cluster: int
    fetched_at: datetime
    notes: list[str] = field(default_factory=list)
    # Seconds since the view was read, when that is longer than the cache keeps a view (a new one is on its way).
    stale_for: float | None = None

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when there is none)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """1-based position of the last row shown."""
        return self.first + len(self.rows) - 1 if self.rows else 0

    def node_offline(self, guest: GuestResource) -> bool:
        """True when the guest's node is offline (its status is then unknown)."""
        return guest.node in self.offline_nodes


@dataclass(frozen=True)
class GuestMatches:
    """The guests a filter matches, in order, and the nodes that are offline."""

    rows: list[GuestResource]
    offline_nodes: frozenset[str]


@dataclass(frozen=True)
class SearchOutcome:
    """Where the header search leads: one guest, a filtered list, or nothing."""

    kind: Literal["guest", "list", "none"]
    vmid: int | None = None


class InventoryService:
    """Lists and finds guests; keeps the index of the latest /cluster/resources answer."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve
        self._index: InventoryIndex | None = None

    async def index(self, *, keep_for: float = 0.0) -> InventoryIndex:
        """The index of the current (cached) /cluster/resources, rebuilt only when that answer changes."""
        resources = await self.pve.cluster_resources(keep_for=keep_for)
        current = self._index
        if current is None or current.resources is not resources:
            current = self._index = InventoryIndex(resources)
        return current

    async def list_guests(
        self,
        query: GuestQuery,
        ips: IpLookup | None = None,
        *,
        default_per_page: int = DEFAULT_PER_PAGE,
        keep_for: float = 0.0,
    ) -> GuestPage:
        """The page of guests the query asks for; a page past the end gives the last one. With keep_for, from
        the last view while a new one is read (if it expired less than keep_for seconds ago), saying its age."""
        index = await self.index(keep_for=keep_for)
        matched = index.select(query, _ip_matches(query.q, ips))
        per_page = query.per_page or default_per_page
        pages = max(1, math.ceil(len(matched) / per_page))
        page = min(query.page, pages)
        start = (page - 1) * per_page
        return GuestPage(
            rows=[index.guests[i] for i in matched[start : start + per_page]],
            total=len(matched),
            page=page,
            pages=pages,
            per_page=per_page,
            facets=index.facets,
            offline_nodes=index.offline_nodes,
            guests_in_cluster=len(index),
            fetched_at=index.resources.fetched_at,
            notes=list(index.notes),
            stale_for=self._stale_for(index.resources.fetched_at),
        )

    def _stale_for(self, fetched_at: datetime) -> float | None:
        age = (datetime.now(UTC) - fetched_at).total_seconds()
        return age if age > self.pve.connection.resources_ttl else None

    async def matching(self, query: GuestFilter, ips: IpLookup | None = None) -> GuestMatches:
        """Every guest the query matches, in its order (for lists paged by the caller)."""
        index = await self.index()
        matched = index.select(query, _ip_matches(query.q, ips))
        return GuestMatches([index.guests[i] for i in matched], index.offline_nodes)

    async def find(self, text: str, ips: IpLookup | None = None) -> SearchOutcome:
        """The guest a search means (exact vmid, exact name, or a single match), else a list or nothing."""
        index = await self.index()
        wanted = text.strip()
        if wanted.isdigit() and int(wanted) in index.resources.by_vmid:
            return SearchOutcome("guest", int(wanted))
        name = wanted.lower()
        named = [index.guests[i].vmid for i, other in enumerate(index.names) if other == name]
        if len(named) == 1:
            return SearchOutcome("guest", named[0])
        matched = index.select(GuestQuery(q=wanted), _ip_matches(wanted, ips))
        if not matched:
            return SearchOutcome("none")
        if len(matched) == 1:
            return SearchOutcome("guest", index.guests[matched[0]].vmid)
        return SearchOutcome("list")


def _ip_matches(text: str | None, ips: IpLookup | None) -> dict[str, set[int]]:
    """Each search word's guests by known address; words that cannot be part of an address are skipped."""
    if ips is None:
        return {}
    return {term: ips.vmids_for_ip(term) for term in terms(text) if any(c in term for c in ".:0123456789")}
