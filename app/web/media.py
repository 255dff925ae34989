"""ISO images and templates by URL on a storage's page: the node looks the URL up first (its name and size shown,
the name filled in), then "Download" runs the operation `download-url` with the checksum given."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app.deps import PveDep, require_role
from app.services.accounts import Role
from app.services.cluster import NODE_PATTERN, STORAGE_PATTERN, url_metadata
from app.services.errors import Invalid, PveError
from app.web.templating import render

router = APIRouter(tags=["storage"], dependencies=[Depends(require_role(Role.operator))])
NodeParam = Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")]
StorageParam = Annotated[str, Path(max_length=64, description=f"pve-storage-id: {STORAGE_PATTERN}")]
# The contents a download by URL may bring, as the page names them.
CONTENTS = {"iso": "ISO image", "vztmpl": "Container template"}


@router.get("/storage/{node}/{storage}/url-lookup", name="storage_url_lookup")
async def url_lookup(
    request: Request,
    pve: PveDep,
    node: NodeParam,
    storage: StorageParam,
    url: Annotated[str, Query(max_length=2000)] = "",
    content: Annotated[str, Query(pattern="^(iso|vztmpl)$")] = "iso",
    verify: Annotated[str, Query(max_length=3)] = "1",
) -> Response:
    """The second step: what the node sees at the URL and the form that downloads it, or why it cannot."""
    context: dict[str, Any] = {"node": node, "storage": storage, "url": url, "content": content}
    context["verify"] = verify == "1"
    try:
        context["meta"] = await url_metadata(pve, node, url.strip(), context["verify"])
    except Invalid as exc:
        context["problem"] = exc.message
    except PveError as exc:
        context["problem"] = str(exc)
    return render(request, "partials/storage/_download_step.html", context)
