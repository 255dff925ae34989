"""The IP inventory (/ips): every address Proxmox knows, a prefix filter, and free addresses in a subnet."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.deps import IpDep, SettingsDep, require_principal
from app.services.errors import Invalid, PveError
from app.services.ips import CANNOT_SEE, MAX_FILTER_LENGTH
from app.web.paging import PageDep, per_page_options, short_url, window
from app.web.pve_links import guest_href
from app.web.templating import render
from app.web.url_paths import path_for

router = APIRouter(tags=["ips"], dependencies=[Depends(require_principal)])
# Room for stray spaces; the service says plainly why anything longer or not address-like is refused.
TextQuery = Query(max_length=2 * MAX_FILTER_LENGTH)
# Notes shown per list: at thousands of guests there are hundreds (every DHCP guest has one).
NOTES_SHOWN = 25
PROGRESS = "partials/ips/_progress.html"
# What the progress line sends when a stage of the reading ends: the table asks for its page again.
INDEX_GREW = "ip-index-grew"


def _url(request: Request, name: str, **params: str) -> str:
    """The route's path with the non-empty params as its query."""
    path = path_for(request, name)
    query = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(query)}" if query else path


def _context(request: Request, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "guest_href": guest_href(request),
        "cannot_see": CANNOT_SEE,
        "cidr": "",
        "notes_shown": NOTES_SHOWN,
        "index_grew": INDEX_GREW,
        "progress_url": path_for(request, "ip_progress"),
    }
    return base | values


@router.get("/ips", name="ip_list")
async def ip_list(
    request: Request,
    service: IpDep,
    settings: SettingsDep,
    wanted: PageDep,
    prefix: Annotated[str, TextQuery] = "",
) -> Response:
    """Addresses of every guest, filtered by an address, its start or a CIDR, a page at a time; HTMX gets the
    table alone (and its 30 s refresh asks for the same page only)."""
    prefix = prefix.strip()
    per_page = str(wanted.per_page or "")

    def link(page: int) -> str:
        return _url(request, "ip_list", prefix=prefix, per_page=per_page, page=str(page) if page > 1 else "")

    context = _context(request, prefix=prefix, self_url=link(1), link=link)
    context["per_page_options"] = per_page_options(settings.page_size, wanted.per_page)
    status = 200
    try:
        context["inventory"] = inventory = await service.inventory(prefix)
        context["win"] = win = window(inventory.items, wanted, settings.page_size)
        context["self_url"] = link(win.page)
    except Invalid as exc:
        context["prefix_error"], status = exc.message, exc.status
    except PveError as exc:
        context["problem"] = str(exc)
    page, partial = "pages/ips/index.html", "partials/ips/_inventory.html"
    response = render(request, page, context, partial=partial, status_code=status)
    return short_url(request, response, "ip-filter", context["self_url"])


@router.get("/ips/progress", name="ip_progress")
async def ip_progress(
    request: Request, service: IpDep, stage: Annotated[str, Query(max_length=16)] = ""
) -> Response:
    """The line that says how far the first reading of the addresses has come; it asks again every second
    until every guest is read, and tells the table to fill in (HX-Trigger) when a stage ends."""
    context = _context(request)
    try:
        context["progress"] = progress = await service.progress()
    except PveError as exc:
        context["progress_problem"] = str(exc)
        return render(request, PROGRESS, context, partial=PROGRESS)
    response = render(request, PROGRESS, context, partial=PROGRESS)
    if stage and stage != progress.stage:
        response.headers["HX-Trigger"] = INDEX_GREW
    return response


@router.get("/ips/free", name="ip_free")
async def ip_free(request: Request, service: IpDep, cidr: Annotated[str, TextQuery] = "") -> Response:
    """Unused host addresses of a subnet, and plainly what Proxmox cannot see."""
    context = _context(request, cidr=cidr.strip())
    status = 200
    if context["cidr"]:
        try:
            context["free"] = await service.free_addresses(cidr)
        except Invalid as exc:
            context["cidr_error"], status = exc.message, exc.status
        except PveError as exc:
            context["free_problem"] = str(exc)
    page, partial = "pages/ips/free.html", "partials/ips/_free.html"
    return render(request, page, context, partial=partial, status_code=status)
