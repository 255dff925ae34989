"""Start a backup (vzdump) of one guest to a storage that takes backups."""

from __future__ import annotations

import functools
import re
from typing import Annotated, Literal

from pydantic import Field

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk, worker
from app.operations.forms import Form, Widget
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.paths import NodePath

STORAGE_ID = r"^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$"


class BackupParams(Params):
    """Where and how to back up."""

    storage: Annotated[
        str, Widget(choices="backup-storages", empty="No storage on {guest.node} takes backups.")
    ] = Field(
        ..., max_length=64, pattern=STORAGE_ID, title="Storage", description="A storage that takes backups"
    )
    mode: Annotated[
        Literal["snapshot", "suspend", "stop"], Widget(options=(("snapshot", "snapshot (keeps running)"),))
    ] = Field("snapshot", title="Mode", description="snapshot keeps the guest running")
    compress: Annotated[Literal["zstd", "gzip", "lzo", "0"], Widget(options=(("0", "none"),))] = Field(
        "zstd", title="Compression", description="0 means no compression"
    )
    notes: str = Field(
        "{{guestname}}",
        max_length=1024,
        title="Notes",
        description="Notes template: {{guestname}}, {{vmid}}, ...",
    )
    protected: bool = Field(
        False, title="Protected", description="Protect the backup from pruning and deletion"
    )


async def backup_storages(pve: PveClient, node: str, vmid: int | None = None) -> list[str]:
    """The available storages on the node that take backups: the ones the guest's backup jobs write to first,
    then shared ones, then the node's own (so the first is the sensible default for "Back up now")."""
    resources = await pve.cluster_resources()
    usable = {
        s.storage: s.shared
        for s in resources.storages
        if s.node == node and "backup" in s.content and s.status == "available"
    }
    guest = resources.guest(vmid) if vmid is not None else None
    jobs = await job_storages(pve, vmid, node, guest.pool if guest else None) if vmid is not None else []
    return sorted(usable, key=lambda s: (s not in jobs, jobs.index(s) if s in jobs else 0, not usable[s], s))


async def job_storages(pve: PveClient, vmid: int, node: str, pool: str | None) -> list[str]:
    """The storages of the enabled backup jobs (GET /cluster/backup) that include the guest, by job id."""
    try:
        jobs = await pve.backup_jobs()
    except PveError:
        return []  # needs Sys.Audit on /; without it the other storages still make a sensible order
    found = [
        str(job["storage"])
        for job in sorted((j for j in jobs or [] if isinstance(j, dict)), key=lambda j: str(j.get("id")))
        if job.get("storage") and _includes(job, vmid, node, pool)
    ]
    return list(dict.fromkeys(found))


@functools.lru_cache(maxsize=64)
def _vmid_set(text: str) -> frozenset[str]:
    """A job's vmid list ('100,101 102'); a job of thousands of guests is split once, not at every page view."""
    return frozenset(v for v in re.split(r"[\s,;]+", text) if v)


def _includes(job: dict[str, object], vmid: int, node: str, pool: str | None) -> bool:
    """True when an enabled vzdump job backs the guest up: by vmid list, 'all' (minus excludes) or pool."""
    if str(job.get("enabled", 1)) == "0" or (job.get("node") and job.get("node") != node):
        return False
    listed = _vmid_set(str(job.get("vmid") or ""))
    excluded = _vmid_set(str(job.get("exclude") or ""))
    if str(job.get("all", 0)) == "1":
        return str(vmid) not in excluded
    return str(vmid) in listed or (pool is not None and job.get("pool") == pool)


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
    answer = await ctx.pve.post(NodePath(guest.node).vzdump, **values)
    if answer == "OK" or not str(answer).startswith("UPID:"):
        # PVE answers a plain "OK" when none of the guests is on that node: nothing was started.
        ctx.pve.expire_resources()
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
    about="Backs the guest up (vzdump) to `storage` in `mode` snapshot, suspend or stop, compressed with "
    "`compress`. Refused for a storage that takes no backups on its node, and for locked guests.",
    form=Form(submit="Start backup"),
)
