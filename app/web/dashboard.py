"""The dashboard: cluster health at a glance, refreshed by HTMX."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.deps import ClusterDep, PrincipalDep, SessionDep, require_principal
from app.services.accounts import Role
from app.services.approvals import list_requests
from app.services.cluster import STORAGE_WARN_PERCENT
from app.services.errors import PveAuthError, PveError, PveForbidden, PveUnavailable
from app.web.templating import render

router = APIRouter(tags=["dashboard"], dependencies=[Depends(require_principal)])
# Break-glass runs awaiting review listed on the dashboard (the API lists them all: status=needs-review).
REVIEWS_SHOWN = 10


@router.get("/", name="dashboard")
async def dashboard(
    request: Request, db: SessionDep, principal: PrincipalDep, service: ClusterDep
) -> Response:
    """Quorum, nodes, storage and guest counts; says so plainly when Proxmox cannot be reached; break-glass
    runs waiting for their review, for approvers."""
    overview, problem, headline = None, None, None
    try:
        overview = await service.overview()
    except PveError as exc:
        problem, headline = str(exc), problem_headline(exc)
    context = {
        "overview": overview,
        "problem": problem,
        "headline": headline,
        "warn_percent": STORAGE_WARN_PERCENT,
        "reviews_due": (await list_requests(db, (), REVIEWS_SHOWN, needs_review=True))[0]
        if principal.can(Role.approver)
        else [],
    }
    return render(request, "pages/dashboard/index.html", context, partial="partials/dashboard/_health.html")


def problem_headline(exc: PveError) -> str:
    """The banner's first words: a refused token is not an unreachable Proxmox, and says so."""
    if isinstance(exc, PveUnavailable):
        return "Proxmox cannot be reached right now."
    if isinstance(exc, PveAuthError):
        return "Proxmox refused Proxgate’s API token."
    if isinstance(exc, PveForbidden):
        return "Proxmox refused to show the cluster."
    return "Proxmox answered with an error."
