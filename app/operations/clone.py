"""Clone a guest (full or linked) and restore a backup into a NEW VMID."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from app.operations.addresses import config_addresses, unique_addresses
from app.operations.base import Context, Guest, MissingParameter, Operation, Params, Refused, Risk, worker
from app.operations.clone_rules import copyable, from_snapshot, movable, source_config
from app.operations.forms import Options, Widget
from app.operations.guest import GuestType
from app.operations.network import duplicate_warning, static_addresses
from app.operations.placement import (
    DNS_NAME,
    NODE,
    STORAGE,
    fitting_storages,
    free_vmid,
    online_node,
    storage_for,
    volume_exists,
)
from app.operations.snapshots import SNAPNAME
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.paths import GuestPath, NodePath

BACKUP_VOLID = r"^[A-Za-z][A-Za-z0-9\-_.]*:backup/\S+$"
BACKUP_KIND = re.compile(r"vzdump-(qemu|lxc)-|/(vm|ct)/\d+/")


def _copies(guest: Guest | None) -> Options:
    """A linked clone only of a template (Proxmox's rule), a full copy of anything."""
    linked = [("false", "linked clone (shares the template's disks)")] if guest and guest.template else []
    return [*linked, ("true", "full copy")]


def _running_ct(guest: Guest) -> bool:
    return guest.type == "lxc" and guest.status == "running"


def _static(guest: Guest) -> bool:
    """True when the guest's config (as the page read it) gives it a static address a copy would keep."""
    return bool(config_addresses(guest.type, guest.config))


REUSE_TITLE = "Keep addresses another guest has"
REUSE_ABOUT = "Go on even though another guest holds a static address the new guest would have"


class CloneParams(Params):
    """Where the copy goes and what it is called."""

    newid: Annotated[int | None, Widget(placeholder="next free")] = Field(
        None, ge=100, le=999_999_999, title="New VMID", description="Empty for the next free one"
    )
    name: Annotated[str | None, Widget(label=lambda g: "Hostname" if g and g.type == "lxc" else "Name")] = (
        Field(
            None,
            pattern=DNS_NAME,
            max_length=63,
            title="Name",
            description="Name (VMs) or hostname (containers) of the copy",
        )
    )
    full: Annotated[bool, Widget(control="select", options=_copies)] = Field(
        True, title="Copy", description="A full copy; linked clones share the template's disks"
    )
    target: Annotated[
        str | None, Widget(choices="other-nodes", blank=lambda g: f"same node ({g.node if g else ''})")
    ] = Field(None, pattern=NODE, max_length=63, title="Target node", description="Node for the copy")
    storage: Annotated[str | None, Widget(asked=False)] = Field(
        None, pattern=STORAGE, max_length=64, description="Storage for a full copy's disks"
    )
    snapname: Annotated[
        str | None,
        Widget(
            choices="snapshots-newest-first",
            only=_running_ct,
            note="A running container is copied from one of its snapshots.",
            empty="A running container can only be copied from a snapshot: take one first, or shut it down.",
        ),
    ] = Field(
        None,
        pattern=SNAPNAME.pattern,
        max_length=40,
        title="From snapshot",
        description="Copy the guest as it was in this snapshot (needed for a running container)",
    )
    allow_ip_reuse: Annotated[
        bool, Widget(only=_static, note="Proxmox copies the network config, static addresses included.")
    ] = Field(False, title=REUSE_TITLE, description=REUSE_ABOUT)

    def new_guest(self) -> int | None:
        """The copy."""
        return self.newid


class RestoreParams(Params):
    """A backup to restore as a new guest."""

    archive: str = Field(
        ...,
        pattern=BACKUP_VOLID,
        max_length=255,
        title="Backup",
        description="e.g. nas-backup:backup/vzdump-qemu-100-....vma.zst",
    )
    node: Annotated[str, Widget(choices="nodes")] = Field(..., pattern=NODE, max_length=63, title="Node")
    vmid: Annotated[int | None, Widget(placeholder="next free")] = Field(
        None, ge=100, le=999_999_999, title="VMID", description="Empty for the next free one"
    )
    name: Annotated[str | None, Widget(placeholder="the backup's", verbatim=True)] = Field(
        None,
        pattern=DNS_NAME,
        max_length=63,
        title="Name",
        description="Name (VMs) or hostname (containers) of the restored guest; the backup's when empty",
    )
    storage: Annotated[str | None, Widget(choices="restore-storages")] = Field(
        None,
        pattern=STORAGE,
        max_length=64,
        title="Storage",
        description="Storage for the restored volumes (containers need one that takes rootdir)",
    )
    unique: bool = Field(
        True,
        title="New MAC addresses",
        description="New MAC addresses (and VM UUIDs), so the copy can run beside the original",
    )
    start: bool = Field(False, title="Start after restoring")
    allow_ip_reuse: Annotated[bool, Widget(confirmation=True)] = Field(
        False, title=REUSE_TITLE, description=REUSE_ABOUT
    )

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The guest this restores."""
        found = BACKUP_KIND.search(self.archive)
        kind = (
            None if not found else ("qemu" if (found.group(1) or found.group(2)) in ("qemu", "vm") else "lxc")
        )
        return self.node, kind, self.vmid, self.name


async def _preflight_clone(ctx: Context, params: CloneParams) -> list[str]:
    guest = ctx.guest
    if guest is None:
        raise Refused("A clone needs a guest to copy.")
    if not params.full and not guest.template:
        raise Refused("Linked clones can only be made from templates; make a full copy.", field="full")
    if params.storage and not params.full:
        raise Refused("A storage can only be chosen for a full copy.", field="storage")
    if guest.lock:
        raise Refused(f"{guest.kind} {guest.vmid} is locked ({guest.lock}); wait for that to finish.")
    await from_snapshot(ctx.pve, guest, params.snapname, params.full)
    config = await source_config(ctx.pve, guest, params.snapname)
    copyable(guest, config)
    node = params.target or guest.node
    if params.target and params.target != guest.node:
        await online_node(ctx.pve, params.target, field="target")
        await movable(ctx.pve, guest, config, params.target, params.storage)
    if params.storage:
        await storage_for(ctx.pve, node, params.storage, _content(guest.type), "storage")
    params.newid = await free_vmid(ctx.pve, params.newid, field="newid")
    warnings = duplicate_warning("The copy", static_addresses(guest.type, config), guest.label)
    warnings += await unique_addresses(ctx, config_addresses(guest.type, config), params.allow_ip_reuse)
    if guest.status == "running" and not params.snapname:
        warnings.append(f"{guest.label} is running: the copy is taken from its disks as they are now.")
    return warnings


def _content(kind: str) -> str:
    """The storage content a guest's volumes need: images (VMs) or rootdir (containers)."""
    return "images" if kind == "qemu" else "rootdir"


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
        "snapname": params.snapname,
    }
    return str(await ctx.pve.post(guest.paths.clone, **values))


def archive_kind(volid: str) -> GuestType:
    """'qemu' or 'lxc' from a backup's name (vzdump-qemu-..., PBS vm/100/...)."""
    found = BACKUP_KIND.search(volid)
    if not found:
        raise Refused(
            "Cannot tell from its name whether this backup is of a VM or a container.", field="archive"
        )
    return "qemu" if (found.group(1) or found.group(2)) in ("qemu", "vm") else "lxc"


async def _preflight_restore(ctx: Context, params: RestoreParams) -> list[str]:
    kind = archive_kind(params.archive)
    await online_node(ctx.pve, params.node)
    await volume_exists(ctx.pve, params.node, params.archive, "backup", "archive")
    if params.storage:
        await storage_for(ctx.pve, params.node, params.storage, _content(kind), "storage")
    elif kind == "lxc":
        # Without one Proxmox puts every volume on 'local', which rarely takes containers.
        offer = ", ".join(await fitting_storages(ctx.pve, params.node, "rootdir")) or "none"
        raise MissingParameter(
            f"Choose a storage for the container's volumes on {params.node}: {offer}.", field="storage"
        )
    # Only a NEW vmid here: restoring over an existing guest is destructive and needs approval.
    params.vmid = await free_vmid(ctx.pve, params.vmid)
    if ctx.addresses is None:
        return await _restored_addresses(ctx.pve, params, kind)
    try:
        text = await ctx.pve.get(NodePath(params.node).extractconfig, volume=params.archive)
    except PveError:
        return []  # Proxmox restores what it can read; an unreadable config is no reason to refuse here
    saved = config_addresses(kind, config_lines(str(text or "")))
    return await unique_addresses(ctx, saved, params.allow_ip_reuse)


async def _restored_addresses(pve: PveClient, params: RestoreParams, kind: str) -> list[str]:
    """A warning when the archive's static addresses are still those of the guest it was taken of (without
    the IP index, which knows every guest that holds them)."""
    owner_vmid = archive_vmid(params.archive)
    owner = (await pve.cluster_resources()).guest(owner_vmid) if owner_vmid else None
    if owner is None:
        return []
    try:
        text = await pve.get(NodePath(params.node).extractconfig, volume=params.archive)
        current = await pve.get(GuestPath(owner.node, owner.type, owner.vmid).config) or {}
    except PveError:
        return []  # a warning is a courtesy: a config that cannot be read does not stop the restore
    saved = set(static_addresses(kind, config_lines(str(text or ""))))
    shared = [a for a in static_addresses(owner.type, dict(current)) if a in saved]
    label = f"{'VM' if owner.type == 'qemu' else 'CT'} {owner.vmid} {owner.name}".rstrip()
    return duplicate_warning("The restored guest", shared, label)


def config_lines(text: str) -> dict[str, str]:
    """A guest config file's 'key: value' lines (the current config only: snapshot sections are left out)."""
    config: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("["):
            break
        key, sep, value = line.partition(": ")
        if sep and not key.startswith("#"):
            config[key.strip()] = value.strip()
    return config


def archive_vmid(volid: str) -> int | None:
    """The vmid a backup was taken of, from its name (vzdump-lxc-101-..., PBS ct/101/...)."""
    found = re.search(r"vzdump-(?:qemu|lxc)-(\d+)-|/(?:vm|ct)/(\d+)/", volid)
    return int(found.group(1) or found.group(2)) if found else None


async def _restore(ctx: Context, params: RestoreParams) -> str | None:
    kind = archive_kind(params.archive)
    values: dict[str, object] = {
        "vmid": params.vmid,
        "storage": params.storage,
        "unique": 1 if params.unique else None,
        "start": 1 if params.start else None,
        # Config keys beside the archive replace the backup's (qemu-server's override_conf).
        "name" if kind == "qemu" else "hostname": params.name,
    }
    if kind == "qemu":
        values["archive"] = params.archive
    else:
        values.update(ostemplate=params.archive, restore=1)
    return str(await ctx.pve.post(NodePath(params.node).guests(kind), **values))


def _describe_clone(guest: Guest | None, p: CloneParams) -> str:
    kind = "full copy" if p.full else "linked clone"
    where = f" on {p.target}" if p.target else ""
    return (
        f"Clone {guest.label if guest else 'a guest'} as {p.newid or '(next free id)'} {p.name or ''}".rstrip()
        + f" ({kind}{where})"
    )


def _describe_restore(guest: Guest | None, p: RestoreParams) -> str:
    named = f" {p.name}" if p.name else ""
    started = ", and start it" if p.start else ""
    return f"Restore {p.archive} as new guest {p.vmid or '(next free id)'}{named} on {p.node}{started}"


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
    about="Copies the guest to `newid` (the next free one by default): `full` or linked (templates only), on "
    "`target` node, a running container from snapshot `snapname`. Refused for locked guests, bind mounts and "
    "passed-through disks; to another node, for a `storage` that is not shared and for disks or CD images only "
    "this node has (a container's may go to a shared `storage`); and when a guest holds a static address the "
    "copy keeps (unless `allow_ip_reuse`).",
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
    about="Restores backup `archive` as a NEW guest on `node` (`vmid` the next free one by default, `name` the "
    "backup's unless given; `unique` new MAC addresses; `start` it after). Refused when the backup or the "
    "storage does not fit the node, or when a guest holds a static address the backup's config gives (unless "
    "`allow_ip_reuse`).",
)
