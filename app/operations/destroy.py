"""Delete a guest, and convert a guest into a template: the two changes that end a guest as it is."""

from __future__ import annotations

from pydantic import Field

from app.operations.base import Context, Guest, NoParams, Operation, Params, Preview, Refused, Risk, worker
from app.operations.checks import not_locked, not_protected, require_guest, snapshots, stopped
from app.operations.forms import Form
from app.operations.volumes import destroyed_with, disk_text, kept_notes
from app.proxmox.diskparse import Disk, parse_disks


class DeleteParams(Params):
    """Deleting a stopped guest, optionally with every trace of it."""

    purge: bool = Field(
        False,
        title="Also remove it from backup jobs, replication and HA",
        description="Also remove it from backup and replication jobs and from HA",
    )
    destroy_unreferenced_disks: bool = Field(
        False,
        title="Also destroy unreferenced disks with its VMID",
        description="Also destroy disks on any storage that carry its VMID but are not in its config",
    )


def real_disks(guest: Guest) -> list[Disk]:
    """The guest's volumes and detached volumes: no CD-ROMs, and no bind mounts or passed-through devices
    (a host path, not on a storage: PVE neither destroys nor restores them)."""
    return [d for d in parse_disks(guest.type, guest.config) if not d.cdrom and d.storage]


async def _preflight_delete(ctx: Context, params: DeleteParams) -> list[str]:
    guest = require_guest(ctx)
    not_protected(guest, "delete it")
    not_locked(guest)
    stopped(guest, "delete it")
    if guest.ha_managed and not params.purge:
        raise Refused(
            f"{guest.label} is managed by HA; Proxmox deletes it only with 'purge', which also removes it "
            "from the HA configuration.",
            field="purge",
        )
    return []


async def _preview_delete(ctx: Context, params: DeleteParams) -> Preview:
    guest = require_guest(ctx)
    fate, snaps = destroyed_with(guest), await snapshots(ctx)
    disks = fate.destroyed
    preview = Preview(facts=[("Guest", f"{guest.label} on {guest.node}")])
    preview.losses = [f"Disk {disk_text(d)} is destroyed" for d in disks]
    if snaps:
        names = ", ".join(str(s.get("name")) for s in snaps)
        preview.losses.append(f"{len(snaps)} snapshot{'s' if len(snaps) != 1 else ''} go with it: {names}")
    if params.destroy_unreferenced_disks:
        preview.losses.append(f"Any other disk with VMID {guest.vmid} on any storage is destroyed as well")
    preview.notes = kept_notes(fate)
    preview.notes.append("Backups of this guest are kept; delete them separately if they should go too.")
    if params.purge:
        preview.notes.append("It is also removed from backup jobs, replication jobs and HA.")
    preview.data = {"disks": [d.volume for d in disks], "snapshots": [s.get("name") for s in snaps]}
    return preview


async def _delete(ctx: Context, params: DeleteParams) -> str | None:
    guest = require_guest(ctx)
    answer = await ctx.pve.delete(
        guest.paths.base,
        purge=1 if params.purge else None,
        **{"destroy-unreferenced-disks": 1 if params.destroy_unreferenced_disks else None},
    )
    return str(answer) if answer else None


def _describe_delete(guest: Guest | None, params: DeleteParams) -> str:
    extra = [
        *(["purge it from jobs and HA"] if params.purge else []),
        *(["destroy unreferenced disks"] if params.destroy_unreferenced_disks else []),
    ]
    what = guest.label if guest else "a guest"
    return f"Delete {what} and its disks" + (f" ({', '.join(extra)})" if extra else "")


async def _preflight_template(ctx: Context, params: NoParams) -> list[str]:
    guest = require_guest(ctx)
    if guest.template:
        raise Refused(f"{guest.label} is already a template.")
    not_locked(guest)
    stopped(guest, "convert it to a template")
    snaps = await snapshots(ctx)
    if snaps:
        raise Refused(
            f"{guest.label} has {len(snaps)} snapshot{'s' if len(snaps) != 1 else ''}; Proxmox cannot make a "
            "template of a guest with snapshots. Delete them first."
        )
    return []


async def _preview_template(ctx: Context, params: NoParams) -> Preview:
    guest = require_guest(ctx)
    disks = real_disks(guest)
    return Preview(
        facts=[("Guest", f"{guest.label} on {guest.node}")],
        losses=[
            "This cannot be undone: a template can never be started again, only cloned.",
            *(f"Disk {disk_text(d)} becomes a read-only base image" for d in disks),
        ],
        notes=["Clones made from the template later share these base images (linked clones) or copy them."],
        data={"disks": [d.volume for d in disks]},
    )


async def _template(ctx: Context, params: NoParams) -> str | None:
    guest = require_guest(ctx)
    # Containers answer null: PVE starts the worker but discards its UPID (it is found in the task list).
    answer = await ctx.pve.post(guest.paths.template)
    return str(answer) if answer else None


def _stopped_guest(guest: Guest) -> bool:
    return guest.status == "stopped" and not guest.lock


DELETE = Operation(
    "delete",
    "Delete guest",
    "guest",
    Risk.destructive,
    DeleteParams,
    _describe_delete,
    _delete,
    preflight=_preflight_delete,
    available=_stopped_guest,
    preview=_preview_delete,
    task_type=worker("qmdestroy", "vzdestroy"),
    reads_config=True,
    typed_confirmation=True,
    about="Deletes a stopped guest and the volumes it owns (its cloud-init drive too; not bind mounts, passed-"
    "through disks or other guests' volumes); options `purge`, `destroy_unreferenced_disks`. Refused when "
    "running, locked, `protection=1`, or HA-managed without purge.",
    form=Form(summary="Delete this guest", submit="Delete {guest.kind} {guest.vmid}"),
)
TEMPLATE = Operation(
    "template",
    "Convert to template",
    "guest",
    Risk.destructive,
    NoParams,
    lambda guest, params: f"Convert {guest.label if guest else 'a guest'} into a template (irreversible)",
    _template,
    preflight=_preflight_template,
    available=lambda g: _stopped_guest(g) and not g.template,
    preview=_preview_template,
    task_type=worker("qmtemplate", "vztemplate"),
    reads_config=True,
    about="Makes a stopped guest a template (irreversible). Refused when running, with snapshots, or already "
    "a template.",
    form=Form(
        summary="Convert to a template",
        warning="A template can never be started again, only cloned. This cannot be undone.",
    ),
)
