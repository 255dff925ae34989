"""One way to page every JSON list: `?limit=&cursor=` in, `{"items", "total", "next_cursor"}` out.

A cursor is opaque to callers: base64url of a small JSON object. Most lists keep an offset in it ({"o": 50});
the audit log keeps the sequence number to continue below ({"before": 1234}), so new events do not shift it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from app.services.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 200
BAD_CURSOR = "This cursor was not given out by this list; start again without one."


class ListPage(BaseModel, Generic[T]):
    """One page of a list, the number of items in the whole list, and the cursor of the next page."""

    items: list[T]
    total: int = Field(description="How many items the whole list (after the filters) has")
    next_cursor: str | None = Field(description="Pass as ?cursor= to get the next page; null on the last one")


def encode_cursor(position: dict[str, int]) -> str:
    """The opaque text of a position."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key: str) -> int:
    """The position `key` of a cursor this API gave out; Invalid (field 'cursor') for anything else."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Invalid(BAD_CURSOR, field="cursor") from None
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Invalid(BAD_CURSOR, field="cursor")
    return value


@dataclass(frozen=True)
class Paging:
    """What a caller asked for: how many items, and where the cursor they came back with points."""

    limit: int
    position: int | None

    @property
    def offset(self) -> int:
        """Where an offset-paged list continues."""
        return self.position or 0

    def page(self, items: Sequence[Any], **extra: Any) -> dict[str, Any]:
        """The envelope of one page of an in-memory list (and any extra keys the list has)."""
        end = self.offset + self.limit
        following = encode_cursor({"o": end}) if end < len(items) else None
        return {
            "items": list(items[self.offset : end]),
            "total": len(items),
            "next_cursor": following,
            **extra,
        }


LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1–500)")]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH, description="next_cursor of the previous page; leave out for the first"
    ),
]


def paging_by(key: str) -> Any:
    """A dependency reading ?limit= and ?cursor=, the cursor decoded (before any upstream call) at `key`."""

    async def read(limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None) -> Paging:
        return Paging(limit, decode_cursor(cursor, key) if cursor else None)

    return read


PagingDep = Annotated[Paging, Depends(paging_by("o"))]
