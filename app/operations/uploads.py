"""Upload an ISO image or a container template onto a storage (POST .../upload): the file, received first and
waiting in the staging folder under a random name, is streamed on to Proxmox with its checksum."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk
from app.operations.forms import Widget
from app.operations.media import EXTENSIONS, Algorithm, checked_digest, human_size, normalize_filename
from app.operations.placement import NODE, STORAGE, online_node, storage_for
from app.proxmox.paths import StoragePath

STAGED = r"^[A-Za-z0-9_-]{20,64}$"
CHUNK = 1024 * 1024


class UploadParams(Params):
    """Which received file, under which name, onto which storage, with which checksum."""

    node: Annotated[str, Widget(choices="nodes")] = Field(..., pattern=NODE, max_length=63, title="Node")
    storage: str = Field(..., pattern=STORAGE, max_length=64, title="Storage")
    content: Literal["iso", "vztmpl"] = Field(
        "iso", title="Content", description="iso or vztmpl (a template)"
    )
    filename: str = Field(..., min_length=1, max_length=255, title="File name")
    staged: str = Field(
        ..., pattern=STAGED, title="Received file", description="The name Proxgate gave the file it received"
    )
    checksum_algorithm: Algorithm = Field("sha256", title="Checksum algorithm")
    checksum: str | None = Field(
        None, pattern=r"^[0-9A-Fa-f]+$", max_length=128, title="Checksum", description="Hex digest to check"
    )

    @field_validator("checksum")
    @classmethod
    def _checksum_length(cls, value: str | None, info: ValidationInfo) -> str | None:
        return checked_digest(value, info.data.get("checksum_algorithm", "sha256"))

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The volume it makes."""
        return self.node, None, None, f"{self.storage}:{self.content}/{self.filename}"


def staged_file(ctx: Context, params: UploadParams) -> Path:
    """The received file; Refused when it is not (or no longer) there."""
    path = ctx.staging / params.staged if ctx.staging else None
    if path is None or not path.is_file():
        raise Refused("The file is not (or no longer) waiting to be uploaded: send it again.", field="staged")
    return path


def digest(path: Path, algorithm: str) -> str:
    """The file's hex digest (read in chunks; run it in a thread)."""
    hasher = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


async def _preflight(ctx: Context, params: UploadParams) -> list[str]:
    path = staged_file(ctx, params)
    await online_node(ctx.pve, params.node)
    await storage_for(ctx.pve, params.node, params.storage, params.content, "storage")
    params.filename = normalize_filename(params.filename)
    pattern, allowed = EXTENSIONS[params.content]
    if not pattern.search(params.filename):
        kind = "An ISO image's" if params.content == "iso" else "A container template's"
        raise Refused(f"{kind} file name ends in {allowed}, not '{params.filename}'.", field="filename")
    have = await ctx.pve.get(StoragePath(params.node, params.storage).content, content=params.content)
    volid = f"{params.storage}:{params.content}/{params.filename}"
    if any(isinstance(i, dict) and i.get("volid") == volid for i in have or []):
        raise Refused(f"{params.storage} on {params.node} holds {params.filename} already.", field="filename")
    if not params.checksum:
        return [
            f"No checksum given: {params.filename} is stored as it arrived ({human_size(path.stat().st_size)})."
        ]
    got = await asyncio.to_thread(digest, path, params.checksum_algorithm)
    if got != params.checksum:
        raise Refused(
            f"The file received has the {params.checksum_algorithm} {got}, not {params.checksum}: it is not the "
            "file you meant, or it was damaged on the way.",
            field="checksum",
        )
    return []


async def _upload(ctx: Context, params: UploadParams) -> str | None:
    path = staged_file(ctx, params)
    fields: dict[str, str] = {"content": params.content}
    if params.checksum:
        fields |= {"checksum": params.checksum, "checksum-algorithm": params.checksum_algorithm}
    try:
        with path.open("rb") as handle:
            # Held until the file is closed: the staging folder's sweep leaves a locked file alone.
            await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_SH)
            target = StoragePath(params.node, params.storage).upload
            return str(await ctx.pve.upload(target, fields, params.filename, handle))
    finally:
        path.unlink(missing_ok=True)


def _describe(guest: Guest | None, p: UploadParams) -> str:
    check = f", checked against its {p.checksum_algorithm}" if p.checksum else ""
    return f"Upload {p.filename} to {p.storage} on {p.node}{check}"


UPLOAD = Operation(
    "upload",
    "Upload",
    "cluster",
    Risk.reversible,
    UploadParams,
    _describe,
    _upload,
    preflight=_preflight,
    task_type=lambda guest, p: "imgcopy",
    about="Uploads a file Proxgate received (`staged`, from a storage's page) onto `storage` of `node` as an ISO "
    "image or container template (`content`) named `filename`, checked against `checksum` "
    "(`checksum_algorithm`) before it is sent and again by Proxmox. Refused for a storage that does not take "
    "the content, a file name of the wrong kind, a file the storage holds already, or a checksum that differs.",
)
