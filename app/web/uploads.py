"""Upload an ISO image or a template from the browser to a storage: the page sends the file (showing its
progress), Proxgate keeps it in its staging folder, and the operation `upload` checks its checksum and streams it
on to Proxmox, its task followed like any other."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from app.deps import ActionsDep, GateDep, PrincipalDep, require_role
from app.http.csrf import verify_csrf_audited
from app.services.accounts import Role
from app.services.cluster import NODE_PATTERN, STORAGE_PATTERN
from app.services.errors import Invalid, ServiceError
from app.services.pipeline import discard, stage_file
from app.web.guest_actions import answer_submitted, send_form

router = APIRouter(tags=["storage"], dependencies=[Depends(require_role(Role.operator))])
NodeParam = Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")]
StorageParam = Annotated[str, Path(max_length=64, description=f"pve-storage-id: {STORAGE_PATTERN}")]
# Form fields that are not the operation's.
NOT_PARAMS = ("csrf_token", "idempotency_key", "file")


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
    form = await request.form()
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or actions.staging is None:
            raise Invalid("Choose a file to upload.", field="file")
        staged, _size = await stage_file(actions.staging, upload)
        params = {k: v for k, v in form.items() if k not in NOT_PARAMS and isinstance(v, str) and v != ""}
        params |= {"node": node, "storage": storage, "staged": staged}
        params.setdefault("filename", upload.filename or "")
    finally:
        await form.close()
    try:
        submitted = await send_form(request, principal, gate, "upload", None, params)
    except ServiceError:
        discard(actions.staging, staged)
        raise
    return answer_submitted(request, submitted)
