"""Restore a backup over an existing guest, and delete a backup: each destroys data for good."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field

from app.operations.base import Context, Guest, Operation, Params, Preview, Refused, Risk, worker
from app.operations.checks import not_locked, not_protected, require_guest, snapshots, stopped
from app.operations.clone import BACKUP_VOLID, archive_kind
from app.operations.destroy import real_disks
from app.operations.forms import Form, Widget
from app.operations.placement import NODE, STORAGE, storage_for, volume_exists
from app.operations.sizes import readable
from app.operations.volumes import backup_drives, disk_text, kept_notes, restored_over
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.paths import NodePath, StoragePath

BACKUP_OWNER = re.compile(r"vzdump-(?:qemu|lxc)-(\d+)-|/(?:vm|ct)/(\d+)/")


def _own_storages(guest: Guest | None) -> str:
    """Where the disks go when no storage is chosen."""
    if guest is not None and guest.type == "lxc":
        return "the storage of its root disk"
    return "where they were (each disk its own storage)"


class RestoreOverParams(Params):
    """The backup to put in the guest's place, and where its disks go."""

    archive: Annotated[str, Widget(choices="backups")] = Field(
        ..., pattern=BACKUP_VOLID, max_length=255, title="Backup", description="The backup's volume id"
    )
    storage: Annotated[str | None, Widget(choices="restore-storages", blank=_own_storages)] = Field(
        None,
        pattern=STORAGE,
        max_length=64,
        title="Disks go to",
        description="Storage for the restored disks (VMs: each disk's own by default; containers: "
        "the storage of its root disk)",
    )


class DeleteBackupParams(Params):
    """A backup volume, and the node to delete it from (any node that sees its storage by default)."""

    volume: Annotated[str, Widget(choices="deletable-backups")] = Field(
        ..., pattern=BACKUP_VOLID, max_length=255, title="Backup", description="The backup's volume id"
    )
    node: Annotated[str | None, Widget(asked=False)] = Field(None, pattern=NODE, max_length=63)

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The backup's guest (by the id in its name) and the backup itself."""
        return self.node, backup_kind(self.volume), backup_owner(self.volume), self.volume


def backup_owner(volid: str) -> int | None:
    """The VMID a backup's name carries (vzdump-qemu-100-..., PBS vm/100/...)."""
    found = BACKUP_OWNER.search(volid)
    return int(found.group(1) or found.group(2)) if found else None


def backup_kind(volid: str) -> str | None:
    """'qemu' or 'lxc' by the backup's name, None when the name does not say."""
    try:
        return archive_kind(volid)
    except Refused:
        return None


def backup_facts(item: dict[str, Any]) -> list[tuple[str, str]]:
    """Date, size and notes of a backup as its storage lists them."""
    facts = [("Backup", str(item.get("volid")))]
    if item.get("ctime"):
        facts.append(
            ("Taken", datetime.fromtimestamp(int(item["ctime"]), UTC).strftime("%Y-%m-%d %H:%M UTC"))
        )
    facts.append(("Size", readable(int(item.get("size") or 0))))
    if item.get("notes"):
        facts.append(("Notes", str(item["notes"])))
    return facts


async def _preflight_restore(ctx: Context, params: RestoreOverParams) -> list[str]:
    guest = require_guest(ctx)
    not_protected(guest, "restore over it")
    not_locked(guest)
    stopped(guest, "restore over it")
    if archive_kind(params.archive) != guest.type:
        kind = "a VM" if guest.type == "lxc" else "a container"
        raise Refused(
            f"This is a backup of {kind}; it cannot be restored over {guest.label}.", field="archive"
        )
    await volume_exists(ctx.pve, guest.node, params.archive, "backup", "archive")
    if guest.type == "lxc" and not params.storage:
        root = next((d for d in real_disks(guest) if d.key == "rootfs"), None)
        params.storage = root.storage if root else None
    if params.storage:
        content = "images" if guest.type == "qemu" else "rootdir"
        await storage_for(ctx.pve, guest.node, params.storage, content, "storage")
    owner = backup_owner(params.archive)
    return (
        [f"This backup is of guest {owner}, not of {guest.vmid}."] if owner not in (None, guest.vmid) else []
    )


async def _preview_restore(ctx: Context, params: RestoreOverParams) -> Preview:
    guest = require_guest(ctx)
    item = await volume_exists(ctx.pve, guest.node, params.archive, "backup", "archive")
    snaps = await snapshots(ctx)
    drives = await _restored_drives(ctx.pve, guest, params.archive)
    fate = restored_over(guest, drives if drives is not None else {d.key for d in real_disks(guest)})
    preview = Preview(facts=[("Guest", f"{guest.label} on {guest.node}"), *backup_facts(item)])
    preview.losses = [
        f"Disk {disk_text(d)} " + ("is destroyed" if d.unused else "is replaced by the backup's")
        for d in fate.destroyed
    ]
    if snaps:
        names = ", ".join(str(s.get("name")) for s in snaps)
        preview.losses.append(
            f"All {len(snaps)} snapshot{'s' if len(snaps) != 1 else ''} are deleted: {names}"
        )
    preview.losses.append("Its configuration is replaced by the one in the backup")
    preview.notes = [
        *(
            f"Disk {disk_text(d)} "
            + ("stays, unused." if d.unused else "is not in the backup: it stays, as an unused disk.")
            for d in fate.detached
        ),
        *kept_notes(fate),
    ]
    if drives is None:
        preview.notes.append(
            "The backup's configuration could not be read, so every disk is shown as replaced; a disk the "
            "backup does not hold would stay, as an unused disk."
        )
    if params.storage:
        preview.notes.append(f"The restored disks go to storage {params.storage}.")
    preview.data = {
        "archive": params.archive,
        "ctime": item.get("ctime"),
        "size": item.get("size"),
        "disks": [d.volume for d in fate.destroyed],
        "kept_unused": [d.volume for d in fate.detached],
        "snapshots": [s.get("name") for s in snaps],
    }
    return preview


async def _restored_drives(pve: PveClient, guest: Guest, archive: str) -> set[str] | None:
    """The drives a VM backup restores (read from its config); None when it cannot be read."""
    if guest.type == "lxc":
        return set()
    try:
        text = await pve.get(NodePath(guest.node).extractconfig, volume=archive)
    except PveError:
        return None
    return backup_drives(str(text or ""))


async def _restore(ctx: Context, params: RestoreOverParams) -> str | None:
    guest = require_guest(ctx)
    values: dict[str, object] = {"vmid": guest.vmid, "force": 1, "storage": params.storage}
    if guest.type == "qemu":
        values["archive"] = params.archive
    else:
        values.update(ostemplate=params.archive, restore=1)
    answer = await ctx.pve.post(NodePath(guest.node).guests(guest.type), **values)
    return str(answer) if answer else None


async def _backup_node(ctx: Context, params: DeleteBackupParams) -> str:
    """The node to delete from: the one given, else an online node that sees the backup's storage."""
    storage = params.volume.split(":", 1)[0]
    resources = await ctx.pve.cluster_resources()
    online = {n.node for n in resources.nodes if n.online}
    seeing = sorted(s.node for s in resources.storages if s.storage == storage and s.status == "available")
    if params.node:
        if params.node not in seeing:
            raise Refused(f"Node {params.node} does not see storage {storage}.", field="node")
        return params.node
    for node in seeing:
        if node in online:
            return node
    raise Refused(f"No online node sees storage {storage} now.", field="volume")


async def _backup_item(ctx: Context, params: DeleteBackupParams) -> dict[str, Any]:
    params.node = await _backup_node(ctx, params)
    return await volume_exists(ctx.pve, params.node, params.volume, "backup", "volume")


async def _preflight_delete(ctx: Context, params: DeleteBackupParams) -> list[str]:
    item = await _backup_item(ctx, params)
    if str(item.get("protected", 0)) == "1":
        raise Refused(
            f"{params.volume} is protected; remove its protection first (in Proxmox: Backups → Change Protection).",
            field="volume",
        )
    return []


async def _preview_delete(ctx: Context, params: DeleteBackupParams) -> Preview:
    item = await _backup_item(ctx, params)
    owner = backup_owner(params.volume)
    storage = params.volume.split(":", 1)[0]
    resources = await ctx.pve.cluster_resources()
    shared = any(s.storage == storage and s.shared for s in resources.storages)
    where = f"{storage}, shared: any node reads it" if shared else f"{storage} on {params.node}"
    preview = Preview(
        facts=[*backup_facts(item), ("Of guest", _owner_label(resources, owner)), ("Stored on", where)]
    )
    preview.losses = [f"The backup file ({readable(int(item.get('size') or 0))}) is deleted for good"]
    preview.data = {
        "volume": params.volume,
        "ctime": item.get("ctime"),
        "size": item.get("size"),
        "vmid": owner,
        "shared": shared,
    }
    return preview


def _owner_label(resources: Any, owner: int | None) -> str:
    """'VM 138 web01' for the guest a backup was taken of; its number alone when it is no longer there."""
    if owner is None:
        return "unknown"
    guest = resources.guest(owner)
    if guest is None:
        return f"{owner} (no longer in the cluster)"
    return f"{'CT' if guest.type == 'lxc' else 'VM'} {owner} {guest.name}".rstrip()


async def _backup_state(ctx: Context, params: DeleteBackupParams) -> dict[str, Any]:
    item = await _backup_item(ctx, params)
    return {"exists": True, "protected": str(item.get("protected", 0)) == "1", "size": item.get("size")}


async def _delete(ctx: Context, params: DeleteBackupParams) -> str | None:
    assert params.node is not None  # noqa: S101 (the preflight chose it)
    storage = params.volume.split(":", 1)[0]
    answer = await ctx.pve.delete(StoragePath(params.node, storage).volume(params.volume))
    return str(answer) if answer else None


def _describe_restore(guest: Guest | None, params: RestoreOverParams) -> str:
    what = guest.label if guest else "a guest"
    return f"Restore {params.archive} over {what}, replacing its disks, snapshots and configuration"


RESTORE_OVERWRITE = Operation(
    "restore-overwrite",
    "Restore over this guest",
    "guest",
    Risk.destructive,
    RestoreOverParams,
    _describe_restore,
    _restore,
    preflight=_preflight_restore,
    available=lambda g: g.status == "stopped" and not g.lock and not g.template,
    preview=_preview_restore,
    task_type=worker("qmrestore", "vzrestore"),
    reads_config=True,
    typed_confirmation=True,
    about="Restores backup `archive` over the stopped guest (`storage` optional), replacing its disks, "
    "snapshots and configuration; a VM's own disks that the backup lacks stay as unused disks. Refused when running, protected, or for a backup of the other guest type.",
    form=Form(
        summary="Restore a backup over this guest",
        submit="Restore over it",
        note="Its current disks, snapshots and configuration are replaced by the backup's.",
    ),
)
DELETE_BACKUP = Operation(
    "delete-backup",
    "Delete backup",
    "cluster",
    Risk.destructive,
    DeleteBackupParams,
    lambda guest, p: f"Delete backup {p.volume}",
    _delete,
    preflight=_preflight_delete,
    preview=_preview_delete,
    state=_backup_state,
    target_key=lambda guest, p: f"volume:{p.volume}",
    task_type=lambda guest, p: "imgdel",
    typed_confirmation=True,
    about="Deletes the backup `volume` (`POST /api/v1/actions/delete-backup`). Refused when the backup is "
    "protected.",
    form=Form(on_guest_page=True, summary="Delete a backup"),
)
