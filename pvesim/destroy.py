"""Deleting a guest destroys only the volumes it owns, as Proxmox does.

fakepve's qmdestroy frees every volume the VM's config names, another guest's too, and its vzdestroy frees
none. QemuServer::destroy_vm frees a drive only when PVE::Storage::path names this VM as the owner (the
cloud-init drive included, ISOs and host paths never); LXC::destroy_lxc_container frees, through
delete_mountpoint_volume, every volume mount (unused ones included) the container owns, and no bind or
device mount.
"""

from __future__ import annotations

import re
from typing import Any

from fakepve.lxc import MOUNT_KEY, mount_type, parse_mount

from pvesim.base import DemoBase

# PVE::Storage parse_volname: the owner is in the name of the volume's last part (a linked clone's
# 'base-100-disk-0/vm-101-disk-0' is 101's), or the folder of a directory storage ('100/...').
OWNER = re.compile(r"^(?:vm|base|subvol|basevol)-(\d+)-")
OWNER_FOLDER = re.compile(r"^(\d+)/")


def volume_owner(volid: str) -> int | None:
    """The VMID that owns a volume id by its name; None for a host path or a volume no guest owns."""
    sid, colon, name = volid.partition(":")
    if not colon or not sid or volid.startswith("/"):
        return None
    found = OWNER.match(name.rsplit("/", 1)[-1]) or OWNER_FOLDER.match(name)
    return int(found.group(1)) if found else None


class OwnedVolumesMixin(DemoBase):
    """Mixin of DemoPve: qmdestroy and vzdestroy free exactly the volumes the guest owns."""

    # The VMID whose qmdestroy is freeing volumes right now (its body frees them without awaiting).
    destroying: int | None = None
    # Containers whose vzdestroy was asked to destroy unreferenced disks too (fakepve's ignores it).
    unreferenced: frozenset[int] = frozenset()

    async def _lxc_destroy(self, user: str, v: dict[str, Any]) -> str:
        vmid = int(v["vmid"])
        if v.get("destroy-unreferenced-disks"):
            self.unreferenced = self.unreferenced | {vmid}
        try:
            return str(await super()._lxc_destroy(user, v))
        except Exception:
            self.unreferenced = self.unreferenced - {vmid}
            raise

    async def task(self, node: str, ttype: str, tid: Any, user: str, body: Any, **kwargs: Any) -> str:
        if ttype == "qmdestroy":
            body = self._owner_only(int(tid), body)
        elif ttype == "vzdestroy":
            body = self._ct_volumes_freed(int(tid), body)
        upid: str = await super().task(node, ttype, tid, user, body, **kwargs)
        return upid

    def _owner_only(self, vmid: int, body: Any) -> Any:
        async def run() -> Any:
            self.destroying = vmid
            try:
                return await body()
            finally:
                self.destroying = None

        return run

    def _qm_free(self, volid: str) -> None:
        """vdisk_free, except what destroy_vm leaves: volumes another guest (or no guest) owns."""
        if self.destroying is not None and volume_owner(volid) != self.destroying:
            return
        super()._qm_free(volid)

    def _ct_volumes_freed(self, vmid: int, body: Any) -> Any:
        ct = self.ct(vmid)
        configs = [ct.config, getattr(ct, "pending", None) or {}] if ct is not None else []

        async def run() -> Any:
            owned = [v for cfg in configs for v in ct_volumes(cfg) if volume_owner(v) == vmid]
            note = await body()
            purge = vmid in self.unreferenced
            self.unreferenced = self.unreferenced - {vmid}
            if ct is not None and ct not in self.cts:
                owned += self._rootdir_volumes(vmid) if purge else []
                for volid in dict.fromkeys(owned):
                    super(OwnedVolumesMixin, self)._qm_free(volid)
            return note

        return run

    def _rootdir_volumes(self, vmid: int) -> list[str]:
        """vdisk_list(..., $vmid, undef, 'rootdir'): every container volume of the VMID on any storage."""
        return [
            f"{sid}:{name}"
            for sid, store in self.storages.items()
            for name, vol in store.get("volumes", {}).items()
            if vol.get("content") == "rootdir" and volume_owner(f"{sid}:{name}") == vmid
        ]


def ct_volumes(config: dict[str, Any]) -> list[str]:
    """The volume ids of a container config's volume mounts and unused volumes (no bind or device mounts)."""
    volumes = [
        str(parse_mount(value).get("volume") or "") for key, value in config.items() if MOUNT_KEY.match(key)
    ]
    return [v for v in volumes if v and mount_type(v) == "volume"]
