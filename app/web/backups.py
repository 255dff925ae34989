"""The backups page: every archive across storages, filtered, and the guests without a backup."""

from __future__ import annotations

import time
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.deps import require_principal, service_dep
from app.http.filters import BackupQuery
from app.proxmox.errors import PveError
from app.services.backups import BackupService
from app.web.pve_links import guest_href
from app.web.templating import render

router = APIRouter(tags=["backups"], dependencies=[Depends(require_principal)])
BackupDep = Annotated[BackupService, Depends(service_dep(BackupService))]


@router.get("/backups", name="backup_list")
async def backup_list(
    request: Request, service: BackupDep, query: Annotated[BackupQuery, Query()]
) -> Response:
    """Backups by guest, storage and age, or each guest's newest; and the guests no backup covers."""
    context: dict[str, Any] = {"query": query, "guest_href": guest_href(request), "now_ts": time.time()}
    try:
        everything = await service.list_backups()
        context["listing"] = await service.list_backups(query.to_filter())
        context["archives"] = Counter(b.vmid for b in everything.backups)
    except PveError as exc:
        context["problem"] = str(exc)
        return render(request, "pages/backups/index.html", context, partial="partials/backups/_backups.html")
    try:
        context["without"] = await service.not_backed_up()
    except PveError as exc:
        context["without_problem"] = f"The list of guests without a backup is missing: {exc}"
    return render(request, "pages/backups/index.html", context, partial="partials/backups/_backups.html")
