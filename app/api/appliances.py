"""GET /api/v1/nodes/{node}/appliances: the appliance templates Proxmox offers the node, searchable, each with
the copies its storages hold (download one with the operation `download-template`); and
GET /api/v1/nodes/{node}/url-metadata: what the node sees at a URL before `download-url` fetches it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from app.deps import PveDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, PagingDep
from app.services.cluster import NODE_PATTERN, list_appliances, url_metadata

router = APIRouter(
    prefix="/api/v1", tags=["nodes"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class ApplianceOut(BaseModel):
    """One appliance of Proxmox's index (aplinfo)."""

    template: str = Field(description="The file name: what `download-template` takes as `template`")
    package: str
    section: str = Field(description="system (Proxmox's own) or turnkeylinux, ...")
    os: str
    version: str
    headline: str
    description: str
    type: str
    location: str = Field(description="Where Proxmox downloads it from")
    infopage: str
    size: int | None = Field(description="Bytes, when the index gives it (Proxmox's own index does not)")
    stored: list[str] = Field(description="Volume ids of the copies on the node's storages")


class ApplianceListOut(ListPage[ApplianceOut]):
    """The node's appliances, the storages there that take templates, and any storage that could not be read."""

    storages: list[str]
    problems: list[str]


@router.get("/nodes/{node}/appliances", name="appliances", response_model=ApplianceListOut)
async def appliances(
    pve: PveDep,
    paging: PagingDep,
    node: Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")],
    q: Annotated[str, Query(max_length=100, description="Words its name, OS or description must hold")] = "",
) -> dict[str, Any]:
    """Proxmox's appliance index for the node, system templates first."""
    found = await list_appliances(pve, node, q)
    rows = [{**vars(a), "stored": list(a.stored)} for a in found.appliances]
    return paging.page(rows, storages=found.storages, problems=found.problems)


class UrlMetadataOut(BaseModel):
    """What the node learned of a URL by a HEAD request: what `download-url` would store, and how big it is."""

    url: str
    filename: str | None
    size: int | None = Field(description="Bytes, as the server says")
    mimetype: str | None


@router.get("/nodes/{node}/url-metadata", name="url_metadata", response_model=UrlMetadataOut)
async def node_url_metadata(
    pve: PveDep,
    node: Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")],
    url: Annotated[str, Query(max_length=2000, description="http:// or https://")],
    verify_certificates: bool = True,
) -> dict[str, Any]:
    """The file name, size and type the node sees at the URL (GET /nodes/{node}/query-url-metadata)."""
    return vars(await url_metadata(pve, node, url, verify_certificates))
