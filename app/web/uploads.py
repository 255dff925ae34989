"""Upload an ISO image or a template from the browser to a storage: the page sends the file (showing its
progress), Proxgate keeps it in its staging folder, and the operation `upload` checks its checksum and streams it
on to Proxmox, its task followed like any other. Its JSON twin is POST /api/v1/storage/{node}/{storage}/upload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.deps import ActionsDep, GateDep, PrincipalDep, require_role
from app.http.csrf import verify_csrf_audited
from app.http.uploads import drop_unused, receive_upload
from app.services.accounts import Role
from app.services.cluster import NODE_PATTERN, STORAGE_PATTERN
from app.services.errors import ServiceError
from app.web.guest_actions import answer_submitted, send_form

router = APIRouter(tags=["storage"], dependencies=[Depends(require_role(Role.operator))])
NodeParam = Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")]
StorageParam = Annotated[str, Path(max_length=64, description=f"pve-storage-id: {STORAGE_PATTERN}")]


@router.post(
    "/storage/{node}/{storage}/upload", name="storage_upload", dependencies=[Depends(verify_csrf_audited)]
)
async def storage_upload(
    request: Request,
    principal: PrincipalDep,
    gate: GateDep,
    actions: ActionsDep,
    node: NodeParam,
    storage: StorageParam,
) -> Response:
    """Receive the file, then run the operation `upload` with it; a refusal deletes the received file."""
    params = await receive_upload(request, actions.staging, node, storage)
    try:
        submitted = await send_form(request, principal, gate, "upload", None, params)
    except ServiceError:
        drop_unused(actions.staging, params, waiting=False)
        raise
    drop_unused(actions.staging, params, waiting=submitted.request is not None)
    return answer_submitted(request, submitted)
