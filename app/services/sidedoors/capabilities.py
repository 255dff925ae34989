"""Which changes a set of Proxmox privileges allows without Proxgate, and where, in the catalogue's words."""

from __future__ import annotations

from collections.abc import Mapping

from app.proxmox.paths import ACL_POOLS, ACL_ROOT, ACL_STORAGE, ACL_VMS

# What each change needs (any one of the privileges), as qemu-server, pve-container and pve-storage check it.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "delete": ("VM.Allocate",),
    "rollback": ("VM.Snapshot.Rollback", "VM.Snapshot"),
    "delete snapshots": ("VM.Snapshot",),
    "resize": ("VM.Config.Disk",),
    "config": (
        "VM.Config.CPU",
        "VM.Config.Memory",
        "VM.Config.Disk",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Config.HWType",
        "VM.Config.CDROM",
        "VM.Config.Cloudinit",
    ),
    "migrate": ("VM.Migrate",),
    "backup/restore": ("VM.Backup",),
    "storage deletion": ("Datastore.Allocate",),
}
GUEST_PATHS = (ACL_ROOT, ACL_VMS, ACL_POOLS)
STORAGE_PATHS = (ACL_ROOT, ACL_STORAGE, ACL_POOLS)


def _applies(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


def capabilities_of(permissions: Mapping[str, Mapping[str, object]]) -> dict[str, list[str]]:
    """capability -> the paths where /access/permissions says it is held (only the changes Proxgate gates)."""
    held: dict[str, list[str]] = {}
    for name, privileges in CAPABILITIES.items():
        roots = STORAGE_PATHS if name == "storage deletion" else GUEST_PATHS
        paths = [
            path
            for path, privs in sorted(permissions.items())
            if _applies(path, roots) and any(p in privs for p in privileges)
        ]
        # A path under one that holds it already adds nothing ('/' covers '/vms' and '/vms/313').
        top = [p for p in paths if not any(q != p and (q == "/" or p.startswith(q + "/")) for q in paths)]
        if top:
            held[name] = top
    return held
