"""POST /api/v1/storage/{node}/{storage}/upload: an ISO image or a template sent as multipart form data (the file
as `file`, and `content`, `filename`, `checksum`, `checksum_algorithm`), run as the operation `upload`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from app.api.actions import ActionOut, IdempotencyKey, RequestCreatedOut, answer
from app.deps import ActionsDep, GateDep, PrincipalDep, actor_for, link_base, require_principal, require_role
from app.http.csrf import verify_csrf_audited
from app.http.uploads import drop_unused, receive_upload
from app.services.accounts import Role
from app.services.cluster import NODE_PATTERN, STORAGE_PATTERN
from app.services.errors import ServiceError

router = APIRouter(prefix="/api/v1", tags=["storage"], dependencies=[Depends(require_principal)])


@router.post(
    "/storage/{node}/{storage}/upload",
    name="upload",
    response_model=ActionOut,
    responses={202: {"model": RequestCreatedOut, "description": "Stored as a request for approval"}},
    # Operators and above: a file is not received for a caller who may not upload it.
    dependencies=[Depends(require_role(Role.operator)), Depends(verify_csrf_audited)],
)
async def upload(
    request: Request,
    principal: PrincipalDep,
    gate: GateDep,
    actions: ActionsDep,
    node: Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")],
    storage: Annotated[str, Path(max_length=64, description=f"pve-storage-id: {STORAGE_PATTERN}")],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Keep the file, check it against its checksum and stream it on to Proxmox (an `imgcopy` task)."""
    params = await receive_upload(request, actions.staging, node, storage)
    actor = actor_for(request, principal)
    try:
        submitted = await gate.submit(
            principal, actor, "upload", None, params, link_base(request), idempotency_key
        )
    except ServiceError:
        drop_unused(actions.staging, params, waiting=False)
        raise
    drop_unused(actions.staging, params, waiting=submitted.request is not None)
    return answer(submitted)
