"""The guest list (/guests) with search, filters, sort and pages, and the header search (/search)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import InventoryDep, IpDep, SettingsDep, require_principal
from app.services.cluster import STATUSES, GuestPage, GuestQuery, InventoryService
from app.services.errors import PveError, PveForbidden, PveUnavailable
from app.services.ips import IpService
from app.web.bulk import bulk_offer
from app.web.paging import page_numbers, per_page_options
from app.web.templating import is_htmx, render
from app.web.url_paths import path_for

router = APIRouter(tags=["guests"], dependencies=[Depends(require_principal)])
GuestQueryDep = Annotated[GuestQuery, Query()]

PAGE, PARTIAL = "pages/guests/list.html", "partials/guests/_table.html"
# How long after it expired the last cluster view is still shown (with its age) while a new one is read: only
# the first visit, or one after a long quiet spell, waits for Proxmox.
KEEP_VIEW_FOR = 600.0
# The filter form's id: HTMX names it in HX-Trigger, and only its requests rewrite the address bar.
FILTER_FORM = "guest-filters"
COLUMNS = (
    ("vmid", "VMID"),
    ("name", "Name"),
    ("type", "Type"),
    ("node", "Node"),
    ("status", "Status"),
    ("cpu", "CPU"),
    ("mem", "Memory"),
    ("disk", "Disk"),
    ("uptime", "Uptime"),
    ("tags", "Tags"),
    ("pool", "Pool"),
)


@router.get("/guests", name="guest_list")
async def guest_list(
    request: Request, query: GuestQueryDep, service: InventoryDep, settings: SettingsDep, ips: IpDep
) -> Response:
    """Every VM and container, searched, filtered, sorted and paged; HTMX gets the table alone."""
    started = time.perf_counter()
    context = await list_context(request, service, query, settings.page_size, ips=ips)
    listed = time.perf_counter()
    response = render(request, PAGE, context, partial=PARTIAL)
    if is_htmx(request) and request.headers.get("hx-trigger") == FILTER_FORM:
        # The form sends its empty fields too; the address bar gets the short, shareable form instead.
        response.headers["HX-Push-Url"] = context["self_url"]
    response.headers["Server-Timing"] = server_timing(started, listed, time.perf_counter())
    return response


@router.get("/search", name="search")
async def search(
    request: Request,
    service: InventoryDep,
    settings: SettingsDep,
    ips: IpDep,
    q: Annotated[str, Query(max_length=200, description="vmid, name, tag or IP")] = "",
) -> Response:
    """Jump to the guest a vmid, name, tag or address means; several matches give the filtered list."""
    text = q.strip()
    list_path = path_for(request, "guest_list")
    if not text:
        return RedirectResponse(list_path, status_code=303)
    try:
        outcome = await service.find(text, ips)
        if (outcome is None or outcome.kind == "none") and looks_like_address(text):
            # Addresses are known once read; an explicit search is worth waiting for every guest's.
            await ips.read_index()
            outcome = await service.find(text, ips)
    except PveError:
        # The list page explains what is wrong with Proxmox.
        outcome = None
    if outcome is not None and outcome.kind == "guest":
        return RedirectResponse(f"/guests/{outcome.vmid}", status_code=303)
    if outcome is None or outcome.kind == "list":
        return RedirectResponse(f"{list_path}?{urlencode({'q': text})}", status_code=303)
    notice = f"Nothing matches “{text}”: no guest has that vmid, name, tag or address."
    context = await list_context(
        request, service, GuestQuery(q=text), settings.page_size, ips=ips, notice=notice
    )
    return render(request, PAGE, context)


def looks_like_address(text: str) -> bool:
    """True for text that could be (part of) an IPv4 or IPv6 address."""
    return bool(re.fullmatch(r"[0-9a-fA-F.:/]+", text)) and ("." in text or ":" in text)


async def list_context(
    request: Request,
    service: InventoryService,
    query: GuestQuery,
    default_per_page: int,
    ips: IpService | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What the list page and its table need; Proxmox trouble becomes a message, not an error page."""
    page: GuestPage | None = None
    problem = None
    try:
        page = await service.list_guests(
            query, ips, default_per_page=default_per_page, keep_for=KEEP_VIEW_FOR
        )
    except PveForbidden as exc:
        problem = f"Proxmox refused the guest list, so no guest can be shown. {exc}."
    except PveUnavailable as exc:
        problem = f"Proxmox cannot be reached right now, so no guest can be shown. {exc}."
    except PveError as exc:
        problem = f"Proxmox could not list the guests: {exc}."
    list_path = path_for(request, "guest_list")
    link = linker(list_path, query)
    return {
        "query": query,
        "page": page,
        "problem": problem,
        "link": link,
        "self_url": link(page=page.page if page else query.page),
        "list_path": list_path,
        "columns": COLUMNS,
        "statuses": STATUSES,
        "per_page_options": per_page_options(default_per_page, query.per_page),
        "page_numbers": page_numbers(page.page, page.pages) if page else [],
        "bulk_offer": bulk_offer(),
        # What "all that match this filter" sends: the list's filter, without its page.
        "filter_query": urlencode(query.params(page=None, per_page=None)),
        **extra,
    }


def server_timing(started: float, listed: float, rendered: float) -> str:
    """Where the time went: the inventory (with any upstream refresh), the template, and both."""
    ms = {"inventory": listed - started, "render": rendered - listed, "app": rendered - started}
    return ", ".join(f"{name};dur={seconds * 1000:.1f}" for name, seconds in ms.items())


def linker(path: str, query: GuestQuery) -> Callable[..., str]:
    """A function giving the list's URL with some parameters changed (None drops one)."""

    def link(**changes: Any) -> str:
        params = query.params(**changes)
        return f"{path}?{urlencode(params)}" if params else path

    return link
