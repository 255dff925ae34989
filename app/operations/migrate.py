"""Migrate a guest to another node: a running VM live (its local disks copied with `with_local_disks`), a
running container by restarting it there, a stopped guest offline; HA's guests through HA."""

from __future__ import annotations

import re
from typing import Any

from app.operations.base import Context, Guest, Operation, Risk
from app.operations.checks import require_guest
from app.operations.forms import Form
from app.operations.migrate_checks import preflight_migrate
from app.operations.migrate_params import MigrateParams
from app.proxmox.client import PveClient
from app.proxmox.paths import ha_migrate

# The line qemu-server's and pve-container's migration workers begin with.
STARTED = re.compile(r"starting migration of (?:VM|CT) \d+ to node '([^']+)'")


def how(guest: Guest, params: MigrateParams) -> str:
    """'live', 'by restarting it' or 'offline': what the migration does to a running guest."""
    if guest.status != "running":
        return "offline"
    return "live" if guest.type == "qemu" else "by restarting it"


async def _migrate(ctx: Context, params: MigrateParams) -> str | None:
    guest = require_guest(ctx)
    if guest.ha_managed:
        # HA queues the move and its own manager migrates the guest: there is no task of ours to follow.
        await ctx.pve.post(
            ha_migrate(f"{'vm' if guest.type == 'qemu' else 'ct'}:{guest.vmid}"), node=params.target
        )
        return None
    running = guest.status == "running"
    values: dict[str, Any] = {"target": params.target}
    if guest.type == "qemu":
        values.update(online=1 if running else None, targetstorage=params.target_storage)
        values["with-local-disks"] = 1 if running and params.with_local_disks else None
    else:
        values.update(restart=1 if running else None)
        values["target-storage"] = params.target_storage
    return str(await ctx.pve.post(guest.paths.migrate, **values))


def _describe(guest: Guest | None, params: MigrateParams) -> str:
    if guest is None:
        return f"Migrate a guest to {params.target}"
    verb = "Ask HA to migrate" if guest.ha_managed else "Migrate"
    text = f"{verb} {guest.label} from {guest.node} to {params.target} {how(guest, params)}"
    if params.with_local_disks and guest.type == "qemu" and guest.status == "running":
        text += ", copying its local disks"
    return text + (f", local disks to {params.target_storage}" if params.target_storage else "")


async def _ended(pve: PveClient, node: str, upid: str) -> str | None:
    """Where the guest went, from the task's own log ("starting migration of VM 100 to node 'pve2' (...)")."""
    for line in await pve.task_log(node, upid, 0, 50):
        found = STARTED.search(line.t)
        if found:
            return f"moved from {node} to {found.group(1)}"
    return None


def _task_type(guest: Guest | None, params: MigrateParams) -> str | None:
    if guest is None or guest.ha_managed:
        return None
    return "qmigrate" if guest.type == "qemu" else "vzmigrate"


MIGRATE = Operation(
    "migrate",
    "Migrate",
    "guest",
    Risk.reversible,
    MigrateParams,
    _describe,
    _migrate,
    preflight=preflight_migrate,
    task_type=_task_type,
    ended=_ended,
    about="Moves the guest to node `target`: a running VM live (`online`; `with_local_disks` copies disks "
    "only its node has, to `target_storage` if given), a running container by restarting it there, a stopped "
    "guest offline; HA's guests through HA. Refused, with Proxmox's reason, for a target that cannot take it.",
    form=Form(summary="Migrate to another node", submit="Migrate"),
)
