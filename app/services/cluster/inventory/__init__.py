"""The guest inventory: list, search, filter, sort and page the cluster's guests from the cached index."""

from app.services.cluster.inventory.index import Facet, Facets, InventoryIndex
from app.services.cluster.inventory.query import (
    DEFAULT_PER_PAGE,
    NUMERIC_FIELDS,
    PER_PAGE_CHOICES,
    SORT_FIELDS,
    STATUSES,
    GuestFilter,
    GuestQuery,
)
from app.services.cluster.inventory.service import (
    GuestMatches,
    GuestPage,
    InventoryService,
    IpLookup,
    SearchOutcome,
)

__all__ = [
    "DEFAULT_PER_PAGE",
    "NUMERIC_FIELDS",
    "PER_PAGE_CHOICES",
    "SORT_FIELDS",
    "STATUSES",
    "Facet",
    "Facets",
    "GuestFilter",
    "GuestMatches",
    "GuestPage",
    "GuestQuery",
    "InventoryIndex",
    "InventoryService",
    "IpLookup",
    "SearchOutcome",
]
