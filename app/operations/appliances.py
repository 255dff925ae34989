"""Download an appliance template from Proxmox's index onto a storage of a node (POST /nodes/{node}/aplinfo)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk
from app.operations.forms import Widget
from app.operations.placement import NODE, STORAGE, online_node, storage_for
from app.proxmox.paths import NodePath, StoragePath

TEMPLATE = r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$"
# Names offered when a template is not in the index: enough to spot a typo, not the whole index.
SUGGESTIONS = 8


class DownloadTemplateParams(Params):
    """Which template of the index, onto which storage of which node."""

    node: Annotated[str, Widget(choices="nodes")] = Field(..., pattern=NODE, max_length=63, title="Node")
    storage: str = Field(
        ..., pattern=STORAGE, max_length=64, title="Storage", description="It must take templates"
    )
    template: str = Field(
        ...,
        pattern=TEMPLATE,
        max_length=255,
        title="Template",
        description="A template file of the appliance index, e.g. debian-12-standard_12.7-1_amd64.tar.zst",
    )

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The template, on its storage and node."""
        return self.node, None, None, f"{self.storage}:vztmpl/{self.template}"


async def _preflight(ctx: Context, params: DownloadTemplateParams) -> list[str]:
    await online_node(ctx.pve, params.node)
    await storage_for(ctx.pve, params.node, params.storage, "vztmpl", "storage")
    index = await ctx.pve.get(NodePath(params.node).aplinfo)
    names = sorted(str(i.get("template")) for i in index or [] if isinstance(i, dict) and i.get("template"))
    if params.template not in names:
        raise Refused(unknown_template(params.template, names), field="template")
    have = await ctx.pve.get(StoragePath(params.node, params.storage).content, content="vztmpl")
    volid = f"{params.storage}:vztmpl/{params.template}"
    if any(isinstance(i, dict) and i.get("volid") == volid for i in have or []):
        raise Refused(f"{params.storage} on {params.node} holds {params.template} already.", field="template")
    return []


def unknown_template(template: str, names: list[str]) -> str:
    """What to say of a template the index lacks: the names that look like it, else the first few."""
    stem = template.split("_", 1)[0].split("-", 1)[0].lower()
    close = [n for n in names if n.lower().startswith(stem)] or names
    shown = ", ".join(close[:SUGGESTIONS]) + (
        f" (and {len(close) - SUGGESTIONS} more)" if len(close) > SUGGESTIONS else ""
    )
    return f"Proxmox's appliance index has no template '{template}'; choose one of: {shown}."


async def _download(ctx: Context, params: DownloadTemplateParams) -> str | None:
    path = NodePath(params.node).aplinfo
    return str(await ctx.pve.post(path, storage=params.storage, template=params.template))


def _describe(guest: Guest | None, p: DownloadTemplateParams) -> str:
    return f"Download template {p.template} to {p.storage} on {p.node}"


DOWNLOAD_TEMPLATE = Operation(
    "download-template",
    "Download template",
    "cluster",
    Risk.reversible,
    DownloadTemplateParams,
    _describe,
    _download,
    preflight=_preflight,
    task_type=lambda guest, p: "download",
    about="Downloads `template` from Proxmox's appliance index (GET /api/v1/nodes/{node}/appliances) onto "
    "`storage` of `node`, checked against the index's checksum. Refused for an offline node, a storage that "
    "does not take templates there, a template the index lacks (naming the ones that look like it) or one "
    "the storage holds already.",
)
