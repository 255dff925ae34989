"""A VM clone refuses what Proxmox refuses: another node while a disk or CD image is on local storage, and a
passed-through disk at all (fakepve copies both).

qemu-server's clone_vm runs check_storage_access_clone over the copied config (the snapshot's, with
snapname): every drive but the unused ones, CD-ROM images included, must be on a shared storage for a clone
to another node, whatever target storage is asked for; a host path is not a volume id and dies there.
"""

from __future__ import annotations

from typing import Any

from fakepve.qemu import drives_of, volume_ref
from fakepve.routing import die

from pvesim.base import DemoBase


class CloneChecksMixin(DemoBase):
    """Mixin of DemoPve: POST /nodes/{node}/qemu/{vmid}/clone checks shared storage as PVE does."""

    async def _qm_clone(self, v: dict[str, Any], user: str) -> str:
        target, storage = v.get("target"), v.get("storage")
        if target in (v["node"], "localhost"):
            target = None
        store = self.storages.get(storage or "")
        if not (target and store is not None and not store.get("shared")):
            # A non-shared target storage is refused by fakepve first, as by PVE; otherwise check the source.
            self._clone_sources(v, target)
        return str(await super()._qm_clone(v, user))

    def _clone_sources(self, v: dict[str, Any], target: str | None) -> None:
        """check_storage_access_clone: die on a host path; to another node, on any volume not shared."""
        vm = self.vm(int(v["vmid"]))
        if vm is None or vm.node != v["node"]:
            return  # fakepve answers a missing VM in its own words
        config = vm.snapshots.get(v.get("snapname") or "", vm.config) if v.get("snapname") else vm.config
        shared = True
        for _key, volume, _props in drives_of(config):
            if not volume or volume in ("none", "cdrom"):
                continue
            sid, _name = volume_ref(volume)
            if sid is None:
                raise die(f"unable to parse volume ID '{volume}'")
            if not self.storages.get(sid, {}).get("shared"):
                shared = False
        if target and not shared:
            raise die(f"can't clone VM to node '{target}' (VM uses local storage)")
