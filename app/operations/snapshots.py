"""Create a snapshot (disk-only by default; RAM state only for VMs, with a warning)."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, field_validator

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk, worker
from app.operations.forms import Form, Widget

# '-' escaped in the class: browsers compile a form's pattern in the v mode, where a bare '-' there is an error.
SNAPNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{1,39}$")
RESERVED = {"current", "pending", "vzdump"}
RAM_WARNING = (
    "Including RAM freezes the guest while its memory is written out and puts a burst of I/O on the node; "
    "the snapshot can be as large as the guest's memory."
)


def default_snapname() -> str:
    """A name from the current time, valid for PVE: snap-20261127-1105."""
    return datetime.now(UTC).strftime("snap-%Y%m%d-%H%M")


def fresh_snapname(taken: Collection[str]) -> str:
    """The name from the time, made unique among the names taken: snap-20261127-1105, then ...-1105-2."""
    base = name = default_snapname()
    count = 1
    while name in taken:
        count += 1
        name = f"{base}-{count}"
    return name


class SnapshotParams(Params):
    """A snapshot's name, description and whether RAM is saved too."""

    snapname: str = Field(
        default_factory=default_snapname,
        max_length=40,
        title="Name",
        description="A letter first, then letters, digits, _ or -; up to 40",
        # The rule for the schema and the browser; the validator says it in words and refuses reserved names.
        json_schema_extra={"pattern": SNAPNAME.pattern},
    )
    description: str = Field("", max_length=8000, title="Description")
    vmstate: Annotated[
        bool,
        Widget(
            only=lambda g: g.type == "qemu",
            note="Off by default: saving RAM freezes the guest while its memory is written and loads the "
            "node's disks. Disk-only snapshots are quick.",
        ),
    ] = Field(False, title="Include RAM", description="Also save the RAM (VMs only)")

    @field_validator("snapname")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not SNAPNAME.match(value):
            raise ValueError("use 2–40 characters: a letter first, then letters, digits, '_' or '-'")
        if value.lower() in RESERVED:
            raise ValueError(f"'{value}' is a reserved name")
        return value


async def _preflight(ctx: Context, params: SnapshotParams) -> list[str]:
    guest = ctx.guest
    if guest is None:
        raise Refused("A snapshot needs a guest.")
    if params.vmstate and guest.type == "lxc":
        raise Refused("Containers have no RAM state to save; leave 'include RAM' off.", field="vmstate")
    if guest.lock:
        raise Refused(f"{guest.kind} {guest.vmid} is locked ({guest.lock}); wait for that to finish.")
    existing = await ctx.pve.get(guest.paths.snapshots)
    if any(isinstance(s, dict) and s.get("name") == params.snapname for s in existing or []):
        raise Refused(f"{guest.label} already has a snapshot named '{params.snapname}'.", field="snapname")
    return [RAM_WARNING] if params.vmstate and guest.status == "running" else []


async def _call(ctx: Context, params: SnapshotParams) -> str | None:
    guest = ctx.guest
    assert guest is not None  # noqa: S101 (the preflight ran)
    # The client leaves out None; containers take no vmstate at all, so it is only sent when asked for.
    values: dict[str, object] = {
        "snapname": params.snapname,
        "description": params.description or None,
        "vmstate": 1 if params.vmstate else None,
    }
    upid = await ctx.pve.post(guest.paths.snapshots, **values)
    return str(upid) if upid else None


def _describe(guest: Guest | None, params: SnapshotParams) -> str:
    ram = " including RAM" if params.vmstate else ""
    return f"Take snapshot '{params.snapname}'{ram} of {guest.label if guest else 'a guest'}"


SNAPSHOT = Operation(
    "snapshot",
    "Take snapshot",
    "guest",
    Risk.reversible,
    SnapshotParams,
    _describe,
    _call,
    preflight=_preflight,
    available=lambda g: not g.template,
    task_type=worker("qmsnapshot", "vzsnapshot"),
    about="Takes a snapshot `snapname` (named from the time by default), disk-only unless `vmstate` saves the "
    "RAM too (VMs). Refused for templates, locked guests, or a name the guest already has.",
    form=Form(summary="Take a snapshot"),
)
