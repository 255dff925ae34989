"""Start a backup (vzdump) of one guest to a storage that takes backups."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk, worker
from app.proxmox.client import PveClient

STORAGE_ID = r"^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$"


class BackupParams(Params):
    """Where and how to back up."""

    storage: str = Field(..., max_length=64, pattern=STORAGE_ID, description="A storage that takes backups")
    mode: Literal["snapshot", "suspend", "stop"] = Field(
        "snapshot", description="snapshot keeps the guest running"
    )
    compress: Literal["zstd", "gzip", "lzo", "0"] = Field("zstd", description="0 means no compression")
    notes: str = Field(
        "{{guestname}}", max_length=1024, description="Notes template: {{guestname}}, {{vmid}}, ..."
    )
    protected: bool = Field(False, description="Protect the backup from pruning and deletion")


async def backup_storages(pve: PveClient, node: str) -> list[str]:
    """Names of the available storages on the node whose content includes backups."""
    resources = await pve.cluster_resources()
    return sorted(
        {
            s.storage
            for s in resources.storages
            if s.node == node and "backup" in s.content and s.status == "available"
        }
    )


async def _preflight(ctx: Context, params: BackupParams) -> list[str]:
    guest = ctx.guest
    if guest is None:
        raise Refused("A backup needs a guest.")
    choices = await backup_storages(ctx.pve, guest.node)
    if params.storage not in choices:
        offer = ", ".join(choices) or "none"
        raise Refused(
            f"Storage '{params.storage}' does not take backups on {guest.node}; choose one of: {offer}.",
            field="storage",
        )
    if guest.lock:
        raise Refused(f"{guest.kind} {guest.vmid} is locked ({guest.lock}); wait for that to finish.")
    if params.mode == "stop" and guest.status == "running":
        return [f"Mode 'stop' shuts {guest.label} down for the backup and starts it again afterwards."]
    return []


async def _call(ctx: Context, params: BackupParams) -> str | None:
    guest = ctx.guest
    assert guest is not None  # noqa: S101 (the preflight ran)
    values: dict[str, object] = {
        "vmid": str(guest.vmid),
        "storage": params.storage,
        "mode": params.mode,
        "compress": params.compress,
        # The client leaves out None: unset options are not sent at all.
        "notes-template": params.notes or None,
        "protected": 1 if params.protected else None,
    }
    answer = await ctx.pve.post(f"/nodes/{guest.node}/vzdump", **values)
    if answer == "OK" or not str(answer).startswith("UPID:"):
        # PVE answers a plain "OK" when none of the guests is on that node: nothing was started.
        ctx.pve.invalidate_resources()
        raise Refused(f"Proxmox started no backup: {guest.label} is not on {guest.node} any more. Try again.")
    return str(answer)


def _describe(guest: Guest | None, params: BackupParams) -> str:
    what = guest.label if guest else "a guest"
    extra = ", protected" if params.protected else ""
    return f"Back up {what} to {params.storage} ({params.mode} mode, {params.compress}{extra})"


BACKUP = Operation(
    "backup",
    "Back up now",
    "guest",
    Risk.reversible,
    BackupParams,
    _describe,
    _call,
    preflight=_preflight,
    task_type=worker("vzdump", "vzdump"),
)
