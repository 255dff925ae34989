"""Jinja2 set-up and render(): the full page or, for HTMX, the same partial alone."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.routing import NoMatchFound

from app.deps import runtime_of
from app.http.csrf import csrf_token_for, set_prelogin_cookie
from app.operations.catalogue import CATALOGUE
from app.paths import resource_dir
from app.web import formatting
from app.web.url_paths import path_for, url_for

# The main navigation: (route name, label, minimum role). Entries whose route is not mounted are left out.
NAVIGATION = (
    ("dashboard", "Dashboard", "viewer"),
    ("guest_list", "Guests", "viewer"),
    ("storage_list", "Storage", "viewer"),
    ("backup_list", "Backups", "viewer"),
    ("task_list", "Tasks", "viewer"),
    ("ip_list", "IPs", "viewer"),
    ("provision", "New guest", "operator"),
    ("approval_list", "Approvals", "viewer"),
    ("audit_list", "Audit", "viewer"),
    # Users, the approval policy and the side doors: tabs on each admin page (partials/admin/_tabs.html).
    ("admin_users", "Admin", "admin"),
)


def navigation(request: Request, principal: Any) -> list[tuple[str, str, str]]:
    """(route name, label, path) of the menu entries this principal may see."""
    if principal is None:
        return []
    entries = []
    for name, label, role in NAVIGATION:
        path = route_path(request, name)
        if path is not None and principal.can(role):
            entries.append((name, label, path))
    return entries


def route_path(request: Request, name: str) -> str | None:
    """The path of a parameterless route, or None when no such route is mounted."""
    try:
        return path_for(request, name)
    except NoMatchFound:
        return None


def build_templates() -> Jinja2Templates:
    """The template environment with Proxgate's filters (autoescaping on)."""
    templates = Jinja2Templates(directory=str(resource_dir("templates")))
    env = templates.env
    env.filters.update(
        bytes=formatting.human_bytes,
        duration=formatting.human_duration,
        percent=formatting.percent,
        when=formatting.when,
        moment=formatting.moment,
        diff_of=formatting.diff_of,
        ago=formatting.ago,
        path_breaks=formatting.path_breaks,
    )
    env.globals["url_for"] = url_for
    env.globals["now"] = lambda: datetime.now(UTC)
    # A one-time key for a form that changes something: a repeated POST of it does not run twice.
    env.globals["new_key"] = lambda: secrets.token_urlsafe(16)
    env.globals["catalogue"] = CATALOGUE
    return templates


def is_htmx(request: Request) -> bool:
    """True for an HTMX request that wants a fragment, not a whole page: a boosted load (app.js marks the
    navigations HX-Location makes as boosted) or a history restore after the cache missed gets the page."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def render(
    request: Request,
    page: str,
    context: dict[str, Any] | None = None,
    *,
    partial: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render `page`, or `partial` alone for HTMX; the response varies on HX-Request."""
    principal = getattr(request.state, "principal", None)
    runtime = runtime_of(request.app)
    settings = runtime.settings
    values: dict[str, Any] = {
        "principal": principal,
        "csrf_token": csrf_token_for(request, principal),
        "tls_unverified": not settings.proxmox_verify_tls,
        "demo": settings.demo,
        "solo_mode": runtime.approval_policy.solo,
        "request_id": getattr(request.state, "request_id", ""),
        "nav": navigation(request, principal),
        "has_search": route_path(request, "search") is not None,
    }
    values.update(context or {})
    name = partial if partial and is_htmx(request) else page
    templates = runtime.templates
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers["Vary"] = "HX-Request"
    set_prelogin_cookie(request, response)
    return response
