"""Checks that destructive operations share: a guest, not locked, stopped, not protected."""

from __future__ import annotations

from typing import Any

from app.operations.base import Context, Guest, Refused
from app.proxmox.client import PveClient


def require_guest(ctx: Context) -> Guest:
    """The context's guest; an operation on a guest never runs without one."""
    if ctx.guest is None:
        raise Refused("This operation needs a guest.")
    return ctx.guest


def not_locked(guest: Guest) -> None:
    """Refuse while Proxmox holds a lock on the guest (a backup, a snapshot, a migration...)."""
    if guest.lock:
        raise Refused(f"{guest.kind} {guest.vmid} is locked ({guest.lock}); wait for that to finish.")


def stopped(guest: Guest, verb: str) -> None:
    """Refuse unless the guest is stopped; `verb` says what waits for it ('delete it')."""
    if guest.status != "stopped":
        raise Refused(f"{guest.label} is {guest.status}; shut it down first to {verb}.")


def not_protected(guest: Guest, verb: str) -> None:
    """Refuse when the guest's protection flag is set (Proxmox would refuse too, later and less clearly)."""
    if str(guest.config.get("protection", "0")) == "1":
        raise Refused(
            f"{guest.label} is protected (protection=1); turn protection off in its options to {verb}."
        )


async def snapshots(ctx: Context) -> list[dict[str, Any]]:
    """The guest's snapshots without Proxmox's 'current' entry, oldest first."""
    guest = require_guest(ctx)
    items = await ctx.pve.get(guest.paths.snapshots) or []
    found = [s for s in items if isinstance(s, dict) and s.get("name") != "current"]
    return sorted(found, key=lambda s: (int(s.get("snaptime") or 0), str(s.get("name"))))


async def storage_types(pve: PveClient, node: str) -> dict[str, str]:
    """{storage id: plugin type} of the storages on a node (lvmthin, zfspool, rbd, dir, ...)."""
    resources = await pve.cluster_resources()
    return {s.storage: s.plugintype for s in resources.storages if s.node == node}
