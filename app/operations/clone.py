"""Clone a guest (full or linked) and restore a backup into a NEW VMID."""

from __future__ import annotations

import re

from pydantic import Field

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk, worker
from app.operations.placement import (
    DNS_NAME,
    NODE,
    STORAGE,
    free_vmid,
    online_node,
    storage_for,
    volume_exists,
)

BACKUP_VOLID = r"^[A-Za-z][A-Za-z0-9\-_.]*:backup/\S+$"
BACKUP_KIND = re.compile(r"vzdump-(qemu|lxc)-|/(vm|ct)/\d+/")


class CloneParams(Params):
    """Where the copy goes and what it is called."""

    newid: int | None = Field(None, ge=100, le=999_999_999, description="Empty for the next free one")
    name: str | None = Field(
        None, pattern=DNS_NAME, max_length=63, description="Name (VMs) or hostname (containers) of the copy"
    )
    full: bool = Field(True, description="A full copy; linked clones share the template's disks")
    target: str | None = Field(None, pattern=NODE, max_length=63, description="Node for the copy")
    storage: str | None = Field(
        None, pattern=STORAGE, max_length=64, description="Storage for a full copy's disks"
    )


class RestoreParams(Params):
    """A backup to restore as a new guest."""

    archive: str = Field(
        ...,
        pattern=BACKUP_VOLID,
        max_length=255,
        description="e.g. nas-backup:backup/vzdump-qemu-100-....vma.zst",
    )
    node: str = Field(..., pattern=NODE, max_length=63)
    vmid: int | None = Field(None, ge=100, le=999_999_999, description="Empty for the next free one")
    storage: str | None = Field(
        None, pattern=STORAGE, max_length=64, description="Storage for the restored disks"
    )
    start: bool = False

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The guest this restores."""
        found = BACKUP_KIND.search(self.archive)
        kind = (
            None if not found else ("qemu" if (found.group(1) or found.group(2)) in ("qemu", "vm") else "lxc")
        )
        return self.node, kind, self.vmid, None


async def _preflight_clone(ctx: Context, params: CloneParams) -> list[str]:
    guest = ctx.guest
    if guest is None:
        raise Refused("A clone needs a guest to copy.")
    if not params.full and not guest.template:
        raise Refused("Linked clones can only be made from templates; make a full copy.", field="full")
    if params.storage and not params.full:
        raise Refused("A storage can only be chosen for a full copy.", field="storage")
    node = params.target or guest.node
    if params.target:
        await online_node(ctx.pve, params.target)
    if params.storage:
        await storage_for(
            ctx.pve, node, params.storage, "images" if guest.type == "qemu" else "rootdir", "storage"
        )
    if guest.lock:
        raise Refused(f"{guest.kind} {guest.vmid} is locked ({guest.lock}); wait for that to finish.")
    params.newid = await free_vmid(ctx.pve, params.newid)
    return (
        [f"{guest.label} is running: the copy is taken from its disks as they are now."]
        if guest.status == "running"
        else []
    )


async def _clone(ctx: Context, params: CloneParams) -> str | None:
    guest = ctx.guest
    assert guest is not None  # noqa: S101 (the preflight ran)
    # The client leaves out None: unset options are not sent at all.
    values: dict[str, object] = {
        "newid": params.newid,
        "full": 1 if params.full else 0,
        "target": params.target,
        "storage": params.storage,
        "name" if guest.type == "qemu" else "hostname": params.name,
    }
    return str(await ctx.pve.post(f"{guest.path}/clone", **values))


def archive_kind(volid: str) -> str:
    """'qemu' or 'lxc' from a backup's name (vzdump-qemu-..., PBS vm/100/...)."""
    found = BACKUP_KIND.search(volid)
    if not found:
        raise Refused(
            "Cannot tell from its name whether this backup is of a VM or a container.", field="archive"
        )
    return "qemu" if (found.group(1) or found.group(2)) in ("qemu", "vm") else "lxc"


async def _preflight_restore(ctx: Context, params: RestoreParams) -> list[str]:
    archive_kind(params.archive)
    await online_node(ctx.pve, params.node)
    await volume_exists(ctx.pve, params.node, params.archive, "backup", "archive")
    if params.storage:
        kind = "images" if archive_kind(params.archive) == "qemu" else "rootdir"
        await storage_for(ctx.pve, params.node, params.storage, kind, "storage")
    # Only a NEW vmid here: restoring over an existing guest is destructive and needs approval.
    params.vmid = await free_vmid(ctx.pve, params.vmid)
    return []


async def _restore(ctx: Context, params: RestoreParams) -> str | None:
    kind = archive_kind(params.archive)
    values: dict[str, object] = {
        "vmid": params.vmid,
        "storage": params.storage,
        "start": 1 if params.start else None,
    }
    if kind == "qemu":
        values["archive"] = params.archive
    else:
        values.update(ostemplate=params.archive, restore=1)
    return str(await ctx.pve.post(f"/nodes/{params.node}/{kind}", **values))


def _describe_clone(guest: Guest | None, p: CloneParams) -> str:
    kind = "full copy" if p.full else "linked clone"
    where = f" on {p.target}" if p.target else ""
    return (
        f"Clone {guest.label if guest else 'a guest'} as {p.newid or '(next free id)'} {p.name or ''}".rstrip()
        + f" ({kind}{where})"
    )


def _describe_restore(guest: Guest | None, p: RestoreParams) -> str:
    return f"Restore {p.archive} as new guest {p.vmid or '(next free id)'} on {p.node}"


CLONE = Operation(
    "clone",
    "Clone",
    "guest",
    Risk.reversible,
    CloneParams,
    _describe_clone,
    _clone,
    preflight=_preflight_clone,
    task_type=worker("qmclone", "vzclone"),
)
RESTORE = Operation(
    "restore",
    "Restore as new guest",
    "cluster",
    Risk.reversible,
    RestoreParams,
    _describe_restore,
    _restore,
    preflight=_preflight_restore,
    task_type=lambda guest, p: "qmrestore" if archive_kind(p.archive) == "qemu" else "vzrestore",
)
