"""Storage pages: every storage with its usage, and what one storage holds."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app.deps import ActionsDep, StorageDep, require_principal
from app.services.cluster import (
    CONTENT_LABELS,
    CONTENT_TYPES,
    NODE_PATTERN,
    STORAGE_CHARTS,
    STORAGE_PATTERN,
    STORAGE_WARN_PERCENT,
    ContentType,
    Volume,
)
from app.services.errors import PveError, PveForbidden, PveUnavailable
from app.services.pipeline import held
from app.web.charts import RangeDep, chart_panel
from app.web.pve_links import guest_href
from app.web.templating import render
from app.web.url_paths import path_for

router = APIRouter(tags=["storage"], dependencies=[Depends(require_principal)])
# The service checks the formats (pve-node, pve-storage-id) before any upstream call, in PVE's words.
NodeParam = Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")]
StorageParam = Annotated[str, Path(max_length=64, description=f"pve-storage-id: {STORAGE_PATTERN}")]


@router.get("/storage", name="storage_list")
async def storage_list(request: Request, service: StorageDep) -> Response:
    """Each storage per node (shared ones once): type, content, usage with the 85 % warning."""
    overview, problem = None, None
    try:
        overview = await service.overview()
    except PveError as exc:
        problem = str(exc)
    context = {"overview": overview, "problem": problem, "warn_percent": STORAGE_WARN_PERCENT}
    return render(request, "pages/storage/index.html", context, partial="partials/storage/_storages.html")


@router.get("/storage/{node}/{storage}", name="storage_content")
async def storage_content(
    request: Request,
    service: StorageDep,
    actions: ActionsDep,
    node: NodeParam,
    storage: StorageParam,
    chosen: RangeDep,
    content: Annotated[ContentType | None, Query(description="only this content type")] = None,
) -> Response:
    """What the storage holds, by content type, and its usage over time; a 403 or an offline node says what
    is missing and why."""
    row = await service.storage(node, storage)
    volumes: list[Volume] = []
    problem = None
    try:
        volumes = await service.volumes(row, node, content)
    except (PveForbidden, PveUnavailable) as exc:
        problem = str(exc)
    context: dict[str, Any] = {
        "row": row,
        "node": node,
        "selected": content,
        "groups": group_volumes(volumes),
        "tabs": [t for t in CONTENT_TYPES if t in row.content],
        "labels": CONTENT_LABELS,
        "problem": problem,
        # Beside the upload form, so an admin sees received files waiting (or left behind).
        "staged": await asyncio.to_thread(held, actions.staging) if actions.staging else None,
        "guest_href": guest_href(request),
        "warn_percent": STORAGE_WARN_PERCENT,
        "panel": chart_panel(
            request,
            path_for(request, "storage_rrd", node=node, storage=row.storage),
            STORAGE_CHARTS,
            chosen,
        ),
    }
    return render(request, "pages/storage/content.html", context, partial="partials/storage/_content.html")


def group_volumes(volumes: list[Volume]) -> list[tuple[str, list[Volume]]]:
    """(content type, its volumes) in the pages' order, leaving out empty types."""
    groups: dict[str, list[Volume]] = {}
    for volume in volumes:
        groups.setdefault(volume.content, []).append(volume)
    return list(groups.items())
