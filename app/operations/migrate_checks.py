"""Whether a guest can move to a node, read from Proxmox first: for a VM its own answer
(GET .../qemu/{vmid}/migrate: allowed nodes, local disks, local devices), for a container what
pve-container's migration checks (its HA rules, bind and device mounts, storages on the target).

Both preconditions answer for every node at once: qemu-server and pve-container take a `target` parameter but
never read it. So the facts are read once per guest (MoveFacts), and each target is judged from them; emptying a
node judges several targets per guest without asking again."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from app.operations.base import Context, Guest, MissingParameter, Refused
from app.operations.checks import not_locked, require_guest
from app.operations.migrate_params import MigrateParams
from app.operations.placement import online_node, storage_for
from app.operations.sizes import readable
from app.proxmox.diskparse import Disk, parse_disks

# How QemuMigrate tells a cloud-init drive among a VM's CD-ROMs.
CLOUD_INIT_VOLUME = re.compile(r"vm-\d+-cloudinit")


@dataclass(frozen=True)
class MoveFacts:
    """What Proxmox says of moving the guest to any node: its precondition answer, and a container's config."""

    answer: dict[str, Any]
    config: dict[str, Any] | None = None


async def read_move_facts(ctx: Context, guest: Guest, with_config: bool = False) -> MoveFacts:
    """The guest's precondition answer (for every node), and its config (a container's always), read at once."""
    if not (with_config or guest.type == "lxc"):
        return MoveFacts(await ctx.pve.get(guest.paths.migrate) or {})
    answer, config = await asyncio.gather(ctx.pve.get(guest.paths.migrate), ctx.pve.get(guest.paths.config))
    return MoveFacts(answer or {}, config or {})


async def preflight_migrate(ctx: Context, params: MigrateParams, facts: MoveFacts | None = None) -> list[str]:
    """Refuse a move Proxmox would refuse, saying why; warn about what it costs. `facts`, when given, were read
    for this guest already (read_move_facts)."""
    guest = require_guest(ctx)
    not_locked(guest)
    if params.target == guest.node:
        raise Refused(f"{guest.label} is already on {guest.node}; choose another node.", field="target")
    await online_node(ctx.pve, params.target, field="target")
    running = guest.status == "running"
    if running and not params.online:
        how = "live" if guest.type == "qemu" else "by restarting it there"
        raise MissingParameter(
            f"{guest.label} is running: Proxmox moves it only {how} (online), or shut it down first.",
            field="online",
        )
    if params.target_storage:
        await _target_storage(ctx, guest, params, params.target_storage)
    facts = facts or await read_move_facts(ctx, guest)
    if guest.type == "qemu":
        warnings = _vm_checks(guest, params, facts.answer)
    else:
        warnings = await _ct_checks(ctx, guest, params, facts)
    if guest.ha_managed:
        warnings.append(
            f"HA manages {guest.label}: Proxgate asks HA to move it, and HA's own task does the move; the "
            "guest page shows the new node once it is done."
        )
    return warnings


async def _target_storage(ctx: Context, guest: Guest, params: MigrateParams, storage: str) -> None:
    """The target node must have the storage for the guest's disks; HA moves disks only as they are."""
    content = "images" if guest.type == "qemu" else "rootdir"
    await storage_for(ctx.pve, params.target, storage, content, "target_storage")
    if guest.ha_managed:
        raise Refused(
            f"HA manages {guest.label} and moves it with its storages as they are: leave the target storage "
            "empty, or remove it from HA first.",
            field="target_storage",
        )


def _vm_checks(guest: Guest, params: MigrateParams, answer: dict[str, Any]) -> list[str]:
    """What Proxmox's precondition answer says about this target."""
    devices = [str(d) for d in answer.get("local_resources") or []]
    if devices:
        raise Refused(
            f"{guest.label} uses {', '.join(devices)}, which only {guest.node} has: Proxmox cannot move it "
            "to another node while it does.",
            field="target",
        )
    if params.target not in (answer.get("allowed_nodes") or []):
        why = _not_allowed(answer.get("not_allowed_nodes") or {}, params.target, params.target_storage)
        if why:
            allowed = ", ".join(answer.get("allowed_nodes") or []) or "none"
            raise Refused(
                f"{guest.label} cannot move to {params.target}: {why}. Nodes it can move to: {allowed}.",
                field="target",
            )
    # A cloud-init drive is made again on the target (QemuMigrate marks it 'generated'): never copied or refused.
    local = [d for d in answer.get("local_disks") or [] if isinstance(d, dict) and not _cloud_init(d)]
    cdroms = [str(d.get("volid")) for d in local if _flag(d.get("cdrom")) and not _flag(d.get("is_unused"))]
    if cdroms:
        raise Refused(
            f"{guest.label}'s CD-ROM holds {', '.join(cdroms)}, on storage only {guest.node} has: eject it "
            "(set the drive to no media) before moving it.",
            field="target",
        )
    disks = [d for d in local if not _flag(d.get("cdrom"))]
    return _local_disk_warnings(guest, params, disks)


def _local_disk_warnings(guest: Guest, params: MigrateParams, disks: list[dict[str, Any]]) -> list[str]:
    if not disks:
        return []
    named = ", ".join(f"{d.get('volid')} ({readable(int(d.get('size') or 0) or None)})" for d in disks)
    attached = [d for d in disks if not _flag(d.get("is_unused"))]
    if guest.status == "running" and attached and guest.ha_managed:
        raise Refused(
            f"HA moves {guest.label} live without copying its local disks ({named}): move them to shared "
            "storage, or shut it down, first.",
            field="with_local_disks",
        )
    if guest.status == "running" and attached and not params.with_local_disks:
        raise MissingParameter(
            f"{guest.label} is running and {named} {'is' if len(disks) == 1 else 'are'} on storage only "
            f"{guest.node} has: choose to copy local disks while it runs (with_local_disks), or shut it "
            "down first.",
            field="with_local_disks",
        )
    where = f" to {params.target_storage}" if params.target_storage else ""
    return [
        f"{named} {'is' if len(disks) == 1 else 'are'} copied to {params.target}{where}: the move takes "
        "as long as copying them, and loads both nodes' disks and the network."
    ]


def _not_allowed(reasons: dict[str, Any], target: str, target_storage: str | None) -> str:
    """Proxmox's reasons why a node cannot take the VM, in words; '' when a target storage lifts them."""
    found = reasons.get(target) or {}
    why = []
    storages = [str(s) for s in found.get("unavailable_storages") or []]
    if storages and not target_storage:
        names = ", ".join(storages)
        why.append(
            f"storage {names}, which its disks are on, is not available there (choose a target storage)"
        )
    blocking = [str(b.get("sid")) for b in found.get("blocking-ha-resources") or [] if isinstance(b, dict)]
    if blocking:
        why.append(f"HA affinity rules with {', '.join(blocking)} keep it off that node")
    missing = [str(m) for m in found.get("unavailable-resources") or []]
    if missing:
        why.append(f"the mapped devices {', '.join(missing)} are not mapped on that node")
    return "; ".join(why)


async def _ct_checks(ctx: Context, guest: Guest, params: MigrateParams, facts: MoveFacts) -> list[str]:
    """pve-container's checks: HA's rules (its precondition), then each mount point and its storage."""
    refused = (facts.answer.get("not-allowed-nodes") or {}).get(params.target)
    if refused is not None:
        found = refused.get("blocking-ha-resources") or []
        blocking = ", ".join(str(b.get("sid")) for b in found if isinstance(b, dict)) or "other resources"
        raise Refused(
            f"{guest.label} cannot move to {params.target}: HA affinity rules with {blocking} keep it off "
            "that node.",
            field="target",
        )
    local = await _ct_local_volumes(ctx, guest, params, facts.config or {})
    warnings = []
    if guest.status == "running":
        warnings.append(
            f"{guest.label} is shut down, moved and started again on {params.target}: it is unreachable "
            "meanwhile (Proxmox cannot move a running container live)."
        )
    if local:
        named = ", ".join(f"{d.key} ({d.volume})" for d in local)
        warnings.append(f"{named} {'is' if len(local) == 1 else 'are'} copied to {params.target}.")
    return warnings


async def _ct_local_volumes(
    ctx: Context, guest: Guest, params: MigrateParams, config: dict[str, Any]
) -> list[Disk]:
    """Refuse a mount of the node's own files, or a storage the target lacks; the volumes to copy."""
    resources = await ctx.pve.cluster_resources()
    there = {s.storage for s in resources.storages if s.node == params.target and "rootdir" in s.content}
    shared = {s.storage for s in resources.storages if s.shared}
    local = []
    for disk in parse_disks("lxc", config):
        if not disk.storage:
            if "shared=1" in str(config.get(disk.key, "")):
                continue
            raise Refused(
                f"{disk.key} of {guest.label} mounts {disk.volume} from {guest.node} itself: Proxmox cannot "
                "move such a mount; remove it (or mark it shared) first.",
                field="target",
            )
        if disk.storage not in shared:
            local.append(disk)
        wanted = disk.storage if disk.storage in shared else (params.target_storage or disk.storage)
        if wanted not in there:
            raise Refused(
                f"{disk.key} of {guest.label} is on storage {wanted}, which {params.target} does not have for "
                "containers: choose a target storage there, or another node.",
                field="target_storage" if params.target_storage else "target",
            )
    return local


def _cloud_init(disk: dict[str, Any]) -> bool:
    """A VM's cloud-init drive (flagged so, or named so as QemuMigrate recognises it)."""
    return _flag(disk.get("is_cloudinit")) or bool(CLOUD_INIT_VOLUME.search(str(disk.get("volid") or "")))


def _flag(value: object) -> bool:
    """Proxmox's booleans: 1, '1', true."""
    return str(value).lower() in ("1", "true")
