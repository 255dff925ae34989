"""Download an ISO image or a container template by URL onto a storage (POST .../download-url), after the node
has looked the URL up (GET /nodes/{node}/query-url-metadata) for its file name and size."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator

from app.operations.base import Context, Guest, MissingParameter, Operation, Params, Refused, Risk
from app.operations.forms import Widget
from app.operations.placement import NODE, STORAGE, online_node, storage_for
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.paths import NodePath, StoragePath

# What PVE accepts of each content's file names (PVE::Storage's ISO_EXT_RE_0 and VZTMPL_EXT_RE_1).
EXTENSIONS = {
    "iso": (re.compile(r"\.(?:iso|img)$", re.IGNORECASE), ".iso or .img"),
    "vztmpl": (
        re.compile(r"\.(?:tar|tar\.(?:gz|xz|zst|bz2))$", re.IGNORECASE),
        ".tar, .tar.gz, .tar.xz or .tar.zst",
    ),
}
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
Algorithm = Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]


def checked_digest(value: str | None, algorithm: str) -> str | None:
    """A hex digest of the algorithm's length, in lower case; None for none; ValueError naming the length."""
    if value and len(value) != HEX_LENGTHS[algorithm]:
        raise ValueError(f"a {algorithm} digest has {HEX_LENGTHS[algorithm]} hex digits")
    return value.lower() if value else None


def normalize_filename(name: str) -> str:
    """PVE::Storage::normalize_content_filename: anything but [-a-zA-Z0-9_.] becomes '_'."""
    return re.sub(r"[^-a-zA-Z0-9_.]", "_", name)


def human_size(size: int) -> str:
    """'1.2 GiB', '640 MiB'."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} B"


class DownloadUrlParams(Params):
    """What to fetch, under which name, onto which storage, checked against which checksum."""

    node: Annotated[str, Widget(choices="nodes")] = Field(..., pattern=NODE, max_length=63, title="Node")
    storage: str = Field(..., pattern=STORAGE, max_length=64, title="Storage")
    content: Literal["iso", "vztmpl"] = Field(
        "iso", title="Content", description="iso or vztmpl (a template)"
    )
    url: str = Field(
        ..., pattern=r"^https?://\S+$", max_length=2000, title="URL", description="http:// or https://"
    )
    filename: str | None = Field(
        None, max_length=255, title="File name", description="Empty for the name the URL gives"
    )
    checksum_algorithm: Algorithm = Field("sha256", title="Checksum algorithm")
    checksum: str | None = Field(
        None, pattern=r"^[0-9A-Fa-f]+$", max_length=128, title="Checksum", description="Hex digest to check"
    )
    verify_certificates: bool = Field(True, title="Verify TLS certificates")
    _size: int | None = PrivateAttr(None)

    @field_validator("checksum")
    @classmethod
    def _checksum_length(cls, value: str | None, info: ValidationInfo) -> str | None:
        return checked_digest(value, info.data.get("checksum_algorithm", "sha256"))

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The volume it makes."""
        return self.node, None, None, f"{self.storage}:{self.content}/{self.filename or self.url}"

    def form(self) -> dict[str, Any]:
        """The form POSTed to download-url."""
        values: dict[str, Any] = {"content": self.content, "filename": self.filename, "url": self.url}
        if self.checksum:
            values.update({"checksum": self.checksum, "checksum-algorithm": self.checksum_algorithm})
        if not self.verify_certificates:
            values["verify-certificates"] = 0
        return values


async def query_url(pve: PveClient, node: str, url: str, verify: bool = True) -> dict[str, Any]:
    """What the node learns of the URL by a HEAD request: filename, size and mimetype (each when given)."""
    answer = await pve.get(
        NodePath(node).query_url_metadata, url=url, **({} if verify else {"verify-certificates": 0})
    )
    return answer if isinstance(answer, dict) else {}


async def _preflight(ctx: Context, params: DownloadUrlParams) -> list[str]:
    await online_node(ctx.pve, params.node)
    await storage_for(ctx.pve, params.node, params.storage, params.content, "storage")
    try:
        meta = await query_url(ctx.pve, params.node, params.url, params.verify_certificates)
    except PveError as exc:
        raise Refused(f"{params.node} cannot fetch {params.url}: {exc.message}", field="url") from None
    name = params.filename or str(meta.get("filename") or "")
    if not name:
        raise MissingParameter("The URL names no file: give the file name to store it as.", field="filename")
    params.filename = normalize_filename(name)
    pattern, allowed = EXTENSIONS[params.content]
    if not pattern.search(params.filename):
        kind = "An ISO image's" if params.content == "iso" else "A container template's"
        raise Refused(f"{kind} file name ends in {allowed}, not '{params.filename}'.", field="filename")
    have = await ctx.pve.get(StoragePath(params.node, params.storage).content, content=params.content)
    volid = f"{params.storage}:{params.content}/{params.filename}"
    if any(isinstance(i, dict) and i.get("volid") == volid for i in have or []):
        raise Refused(f"{params.storage} on {params.node} holds {params.filename} already.", field="filename")
    size = meta.get("size")
    params._size = int(size) if isinstance(size, int | str) and str(size).isdigit() else None
    return [] if params.checksum else [f"No checksum given: {params.filename} is stored as it arrives."]


async def _download(ctx: Context, params: DownloadUrlParams) -> str | None:
    path = StoragePath(params.node, params.storage).download_url
    return str(await ctx.pve.post(path, **params.form()))


def _describe(guest: Guest | None, p: DownloadUrlParams) -> str:
    size = f" ({human_size(p._size)})" if p._size is not None else ""
    check = f", checked against its {p.checksum_algorithm}" if p.checksum else ""
    return f"Download {p.filename or p.url}{size} to {p.storage} on {p.node}{check}"


DOWNLOAD_URL = Operation(
    "download-url",
    "Download by URL",
    "cluster",
    Risk.reversible,
    DownloadUrlParams,
    _describe,
    _download,
    preflight=_preflight,
    task_type=lambda guest, p: "download",
    about="Downloads the ISO image or container template (`content`) at `url` onto `storage` of `node`, "
    "named `filename` (by default as the URL names it), checked against `checksum` (`checksum_algorithm`, "
    "sha256 by default) when given. The node looks the URL up first (name and size). Refused for a URL the "
    "node cannot fetch, a storage that does not take the content, a file name of the wrong kind, or a file "
    "the storage holds already.",
)
