"""The backups page: every archive across storages, filtered and paged, and the guests without a backup."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.deps import BackupDep, SettingsDep, require_principal
from app.http.filters import BackupQuery
from app.services.errors import PveError
from app.web.paging import PageDep, PageRequest, per_page_options, short_url, window
from app.web.pve_links import guest_href
from app.web.templating import render
from app.web.url_paths import path_for

router = APIRouter(tags=["backups"], dependencies=[Depends(require_principal)])


@router.get("/backups", name="backup_list")
async def backup_list(
    request: Request,
    service: BackupDep,
    settings: SettingsDep,
    query: Annotated[BackupQuery, Query()],
    wanted: PageDep,
    without_page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Backups by guest, storage and age, or each guest's newest, a page at a time; and the guests no backup
    covers, paged apart."""
    links = _linker(request, query, wanted, without_page)
    context: dict[str, Any] = {
        "query": query,
        "guest_href": guest_href(request),
        "now_ts": time.time(),
        **links,
    }
    context["per_page_options"] = per_page_options(settings.page_size, wanted.per_page)
    page, partial = "pages/backups/index.html", "partials/backups/_backups.html"
    try:
        everything = await service.list_backups()
        context["listing"] = listing = await service.list_backups(query.to_filter())
        context["win"] = window(listing.backups, wanted, settings.page_size)
        context["archives"] = Counter(b.vmid for b in everything.backups)
    except PveError as exc:
        context["problem"] = str(exc)
        return render(request, page, context, partial=partial)
    try:
        without = await service.not_backed_up()
        context["without"] = window(without, PageRequest(without_page, wanted.per_page), settings.page_size)
    except PveError as exc:
        context["without_problem"] = f"The list of guests without a backup is missing: {exc}"
    response = render(request, page, context, partial=partial)
    return short_url(request, response, "backup-filters", links["link"](context["win"].page))


def _linker(
    request: Request, query: BackupQuery, wanted: PageRequest, without_page: int
) -> dict[str, Callable[[int], str]]:
    """URLs of other pages of the backups (link) and of the guests without one (without_link)."""
    path = path_for(request, "backup_list")
    filters = {
        k: "1" if v is True else str(v)
        for k, v in query.model_dump(exclude_defaults=True).items()
        if v is not None
    }
    size = {"per_page": str(wanted.per_page)} if wanted.per_page else {}

    def url(page: int, other: int) -> str:
        params = {**filters, **size}
        params.update({"page": str(page)} if page > 1 else {})
        params.update({"without_page": str(other)} if other > 1 else {})
        return f"{path}?{urlencode(params)}" if params else path

    return {
        "link": lambda page: url(page, without_page),
        "without_link": lambda other: url(wanted.page, other),
    }
