"""Pages of a long list on the server, as /guests has them: ?page=&per_page=, a window of rows, the pager."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from app.services.cluster import PER_PAGE_CHOICES
from app.services.errors import Invalid


@dataclass(frozen=True)
class PageRequest:
    """Which page of how many rows (None: the configured page size)."""

    page: int
    per_page: int | None


async def page_request(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[str, Query(max_length=8, description="25, 50, 100 or 200; empty: the default")] = "",
) -> PageRequest:
    """?page= and ?per_page= of a list page (a form sends an empty per_page for the configured size)."""
    size = per_page.strip()
    if not size:
        return PageRequest(page, None)
    if not size.isdigit() or int(size) not in PER_PAGE_CHOICES:
        choices = ", ".join(str(c) for c in PER_PAGE_CHOICES)
        raise Invalid(f"per_page: must be one of {choices}", field="per_page")
    return PageRequest(page, int(size))


PageDep = Annotated[PageRequest, Depends(page_request)]


@dataclass(frozen=True)
class Window:
    """The rows of one page and where it sits in the whole list."""

    rows: Sequence[Any]
    total: int
    page: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when there is none)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """1-based position of the last row shown."""
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def numbers(self) -> list[int | None]:
        """The pager's page numbers (None marks a gap)."""
        return page_numbers(self.page, self.pages)


def window(items: Sequence[Any], wanted: PageRequest, default_per_page: int) -> Window:
    """The page of items asked for; a page past the end gives the last one."""
    per_page = wanted.per_page or default_per_page
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(wanted.page, pages)
    start = (page - 1) * per_page
    return Window(items[start : start + per_page], len(items), page, pages, per_page)


def page_numbers(current: int, pages: int) -> list[int | None]:
    """The pager's page numbers: first, last and two around the current one; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    out: list[int | None] = []
    for number in shown:
        if out and number - (out[-1] or 0) > 1:
            out.append(None)
        out.append(number)
    return out


def per_page_options(default: int, chosen: int | None) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of the page-size menu; the configured size is the empty value."""
    sizes = sorted({*PER_PAGE_CHOICES, default})
    return [
        ("" if size == default else str(size), f"{size} per page", size == (chosen or default))
        for size in sizes
    ]


def short_url(request: Request, response: Response, form_id: str, url: str) -> Response:
    """For a filter form's HTMX request, put the view's short URL in the address bar, not every empty field."""
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-trigger") == form_id:
        response.headers["HX-Push-Url"] = url
    return response
