"""GuestQuery: what a guest list asks for (search, filters, sort, page), validated before any upstream call."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

SortField = Literal["vmid", "name", "type", "node", "status", "cpu", "mem", "disk", "uptime", "tags", "pool"]
SORT_FIELDS: tuple[str, ...] = get_args(SortField)
# Columns whose first click sorts the biggest first: people look for the busiest guests.
NUMERIC_FIELDS = frozenset({"cpu", "mem", "disk", "uptime"})
PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
STATUSES = ("running", "stopped", "paused", "unknown")

# PVE's own formats: pve-node (a DNS label), pve-tag and pve-poolid.
NODE_PATTERN = r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$"
TAG_PATTERN = r"^[a-zA-Z0-9_][a-zA-Z0-9_\-+.]*$"
POOL_PATTERN = r"^[A-Za-z0-9\-_]+$"

Node = Annotated[str, Field(max_length=64, pattern=NODE_PATTERN)]
Tag = Annotated[str, Field(max_length=128, pattern=TAG_PATTERN)]
Pool = Annotated[str, Field(max_length=64, pattern=POOL_PATTERN)]
Search = Annotated[str, Field(max_length=200)]


class GuestFilter(BaseModel):
    """Search text, filters and sort of a guest list; blank values mean 'any'."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    q: Search | None = Field(None, description="vmid (exact or prefix), part of a name, a tag, or an IP")
    node: Node | None = None
    type: Literal["qemu", "lxc"] | None = None
    status: Literal["running", "stopped", "paused", "unknown"] | None = None
    tag: Tag | None = None
    pool: Pool | None = None
    template: Literal["yes", "no"] | None = Field(None, description="only templates (yes) or none (no)")
    sort: SortField = "vmid"
    order: Literal["asc", "desc"] = "asc"

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        # An HTML form sends every field, the empty ones as '': those mean 'any', not an invalid value.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    @field_validator("q")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None

    @property
    def filtered(self) -> bool:
        """True when a search or a filter narrows the list."""
        return any(v is not None for v in (self.q, self.node, self.type, self.status, self.tag, self.pool))

    def next_order(self, field: str) -> str:
        """The order a click on column `field` asks for: the other way round if it is the sort column."""
        if field == self.sort:
            return "desc" if self.order == "asc" else "asc"
        return "desc" if field in NUMERIC_FIELDS else "asc"


class GuestQuery(GuestFilter):
    """A guest list page: the filters, and which page of how many rows."""

    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int | None = Field(None, description="25, 50, 100 or 200; the configured page size if unset")

    @field_validator("per_page")
    @classmethod
    def _per_page(cls, value: int | None) -> int | None:
        if value is not None and value not in PER_PAGE_CHOICES:
            choices = ", ".join(str(c) for c in PER_PAGE_CHOICES)
            raise PydanticCustomError("per_page", "must be one of {choices}", {"choices": choices})
        return value

    def params(self, **changes: Any) -> dict[str, str]:
        """The query's non-default values (with changes applied; None drops one) as URL parameters."""
        values = {**self.model_dump(), **changes}
        out = {}
        # In field order, so equal views have equal URLs.
        for key, spec in type(self).model_fields.items():
            value = values.get(key)
            if value is not None and value != spec.default:
                out[key] = str(value)
        return out
