"""What the page and the API share of an upload: the file of a multipart request kept in the staging folder,
and the operation `upload`'s parameters from the request's other fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from app.services.errors import Invalid
from app.services.pipeline import discard, stage_file

# Form fields that are not the operation's.
NOT_PARAMS = ("csrf_token", "idempotency_key", "file")


def drop_unused(staging: Path | None, params: dict[str, Any], waiting: bool) -> None:
    """Delete the received file unless a request waiting for approval will upload it later (the upload deletes
    it once sent; a repeated one-time key answers with the first call and leaves this one's file unused)."""
    if staging is not None and not waiting:
        discard(staging, str(params["staged"]))


async def receive_upload(request: Request, staging: Path | None, node: str, storage: str) -> dict[str, Any]:
    """Keep the request's `file` in the staging folder; the operation's parameters, `staged` naming it and
    `filename` (unless given) the name the file came with."""
    form = await request.form()
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or staging is None:
            raise Invalid("Choose a file to upload (the form field `file`).", field="file")
        staged, _size = await stage_file(staging, upload)
        params = {k: v for k, v in form.items() if k not in NOT_PARAMS and isinstance(v, str) and v != ""}
        params |= {"node": node, "storage": storage, "staged": staged}
        params.setdefault("filename", upload.filename or "")
        return params
    finally:
        await form.close()
