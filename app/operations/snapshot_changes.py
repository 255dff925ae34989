"""Roll a guest back to a snapshot, and delete a snapshot: both lose a state that cannot be had back."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, field_validator

from app.operations.base import Context, Guest, Operation, Params, Preview, Refused, Risk, worker
from app.operations.checks import not_locked, require_guest, snapshots, storage_types
from app.operations.forms import Form, Widget
from app.operations.sizes import ago
from app.operations.snapshots import SNAPNAME
from app.proxmox.diskparse import parse_disks


class SnapshotChoice(Params):
    """Which snapshot (the oldest offered first: the one most often let go)."""

    snapname: Annotated[str, Widget(choices="snapshots")] = Field(
        ..., max_length=40, title="Snapshot", description="The snapshot's name"
    )

    @field_validator("snapname")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not SNAPNAME.match(value) or value.lower() == "current":
            raise ValueError("not a snapshot name: a letter first, then letters, digits, '_' or '-'")
        return value


class RollbackParams(SnapshotChoice):
    """Which snapshot (the newest offered first), and whether to start the guest afterwards."""

    snapname: Annotated[str, Widget(choices="snapshots-newest-first")] = Field(
        ..., max_length=40, title="Snapshot", description="The snapshot's name"
    )
    start: bool = Field(
        False, title="Start it afterwards", description="Start the guest once the rollback is done"
    )


def _taken(snap: dict[str, Any]) -> str:
    stamp = int(snap.get("snaptime") or 0)
    if not stamp:
        return "unknown time"
    moment = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{moment} ({ago(time.time() - stamp)} ago)"


async def _chosen(ctx: Context, snapname: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The snapshot and the whole list; Refused when the guest has no snapshot of that name."""
    guest = require_guest(ctx)
    snaps = await snapshots(ctx)
    snap = next((s for s in snaps if s.get("name") == snapname), None)
    if snap is None:
        names = ", ".join(str(s.get("name")) for s in snaps) or "none"
        raise Refused(f"{guest.label} has no snapshot '{snapname}'; it has: {names}.", field="snapname")
    return snap, snaps


def _newer(snap: dict[str, Any], snaps: list[dict[str, Any]]) -> list[str]:
    """Snapshots taken after this one: its descendants, and any later one on another branch."""
    taken, name = int(snap.get("snaptime") or 0), snap.get("name")
    parents = {s.get("name"): s.get("parent") for s in snaps}

    def descends(other: Any) -> bool:
        seen: set[Any] = set()
        while other in parents and other not in seen:
            seen.add(other)
            other = parents[other]
            if other == name:
                return True
        return False

    return [
        str(s.get("name"))
        for s in snaps
        if s.get("name") != name and (int(s.get("snaptime") or 0) > taken or descends(s.get("name")))
    ]


async def _zfs_blocks(ctx: Context, guest: Guest, newer: list[str]) -> None:
    """ZFS can only roll back to a volume's most recent snapshot: say so before anyone is asked."""
    if not newer:
        return
    kinds = await storage_types(ctx.pve, guest.node)
    for disk in parse_disks(guest.type, guest.config):
        if disk.storage and kinds.get(disk.storage) == "zfspool" and not disk.cdrom:
            raise Refused(
                f"Disk {disk.key} is on ZFS storage '{disk.storage}', which can only roll back to its most "
                f"recent snapshot; delete the newer snapshots first: {', '.join(newer)}.",
                field="snapname",
            )


async def _preflight_rollback(ctx: Context, params: RollbackParams) -> list[str]:
    guest = require_guest(ctx)
    if guest.template:
        raise Refused(f"{guest.label} is a template; templates cannot be rolled back.")
    not_locked(guest)
    snap, snaps = await _chosen(ctx, params.snapname)
    await _zfs_blocks(ctx, guest, _newer(snap, snaps))
    return (
        [f"{guest.label} is running: Proxmox stops it for the rollback."] if guest.status == "running" else []
    )


async def _preview_rollback(ctx: Context, params: RollbackParams) -> Preview:
    guest = require_guest(ctx)
    snap, snaps = await _chosen(ctx, params.snapname)
    newer, ram = _newer(snap, snaps), bool(int(snap.get("vmstate") or 0))
    age = time.time() - int(snap.get("snaptime") or time.time())
    preview = Preview(facts=[("Snapshot", params.snapname), ("Taken", _taken(snap))])
    if snap.get("description"):
        preview.facts.append(("Description", str(snap["description"])))
    preview.losses.append(f"Everything written to its disks in the last {ago(age)} is lost")
    preview.losses.append("Configuration changes made since then are undone")
    if guest.status == "running":
        preview.losses.append(
            f"{guest.label} is running now: it is stopped, and what is in its memory is lost"
        )
    if ram:
        preview.notes.append(
            "The snapshot includes RAM: the VM resumes exactly where it was, already running."
        )
    elif params.start:
        preview.notes.append("It is started once the rollback is done.")
    if newer:
        preview.notes.append(f"Newer snapshots stay and can still be rolled back to: {', '.join(newer)}.")
    preview.data = {
        "snapname": params.snapname,
        "snaptime": snap.get("snaptime"),
        "age_seconds": int(age),
        "running": guest.status == "running",
        "vmstate": ram,
        "newer_snapshots": newer,
    }
    return preview


async def _rollback(ctx: Context, params: RollbackParams) -> str | None:
    guest = require_guest(ctx)
    answer = await ctx.pve.post(guest.paths.rollback(params.snapname), start=1 if params.start else None)
    return str(answer) if answer else None


async def _preflight_delete(ctx: Context, params: SnapshotChoice) -> list[str]:
    guest = require_guest(ctx)
    if guest.template:
        raise Refused(f"{guest.label} is a template; Proxmox keeps the snapshots of templates.")
    not_locked(guest)
    await _chosen(ctx, params.snapname)
    return []


async def _preview_delete(ctx: Context, params: SnapshotChoice) -> Preview:
    snap, snaps = await _chosen(ctx, params.snapname)
    children = [str(s.get("name")) for s in snaps if s.get("parent") == params.snapname]
    preview = Preview(facts=[("Snapshot", params.snapname), ("Taken", _taken(snap))])
    if snap.get("description"):
        preview.facts.append(("Description", str(snap["description"])))
    preview.losses.append(f"The state of {_taken(snap)} can no longer be rolled back to")
    ram = bool(int(snap.get("vmstate") or 0))
    if ram:
        preview.losses.append("Its saved RAM state is deleted with it")
    parent = snap.get("parent")
    if children:
        after = f"'{parent}'" if parent else "nothing (they become the oldest)"
        preview.notes.append(f"Its child snapshots stay ({', '.join(children)}) and now follow {after}.")
    preview.data = {"snapname": params.snapname, "children": children, "vmstate": ram, "parent": parent}
    return preview


async def _delete(ctx: Context, params: SnapshotChoice) -> str | None:
    guest = require_guest(ctx)
    answer = await ctx.pve.delete(guest.paths.snapshot(params.snapname))
    return str(answer) if answer else None


def _describe_rollback(guest: Guest | None, params: RollbackParams) -> str:
    then = ", then start it" if params.start else ""
    return f"Roll back {guest.label if guest else 'a guest'} to snapshot '{params.snapname}'{then}"


ROLLBACK = Operation(
    "rollback",
    "Roll back to snapshot",
    "guest",
    Risk.destructive,
    RollbackParams,
    _describe_rollback,
    _rollback,
    preflight=_preflight_rollback,
    available=lambda g: not g.template,
    preview=_preview_rollback,
    task_type=worker("qmrollback", "vzrollback"),
    reads_config=True,
    typed_confirmation=True,
    about="Rolls back to snapshot `snapname`; `start` starts it afterwards. Refused when the snapshot is "
    "missing, or on ZFS with newer snapshots.",
    form=Form(summary="Roll back to a snapshot", submit="Roll back"),
)
DELETE_SNAPSHOT = Operation(
    "delete-snapshot",
    "Delete snapshot",
    "guest",
    Risk.destructive,
    SnapshotChoice,
    lambda guest, p: f"Delete snapshot '{p.snapname}' of {guest.label if guest else 'a guest'}",
    _delete,
    preflight=_preflight_delete,
    available=lambda g: not g.template,
    preview=_preview_delete,
    target_key=lambda guest, p: f"guest:{guest.vmid if guest else ''}:snapshot:{p.snapname}",
    task_type=worker("qmdelsnapshot", "vzdelsnapshot"),
    reads_config=True,
    typed_confirmation=True,
    about="Deletes snapshot `snapname` (its children stay). Refused when the snapshot is missing, and for "
    "templates.",
    form=Form(summary="Delete a snapshot"),
)
