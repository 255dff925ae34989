"""PUT /nodes/{node}/qemu/{vmid}/resize: a 'resize' task whose worker makes every check (qemu-server 8+)."""

from __future__ import annotations

from typing import Any

from fakepve import PveError, TaskError
from fakepve.lxc import format_size
from fakepve.qemu import is_cdrom, join_drive, split_drive, volume_ref
from fakepve.routing import DIGEST_CHANGED, param_error

from pvesim.base import DemoBase, Log, locked_message
from pvesim.units import config_bytes, lvm_size, requested_size

# PVE seconds the storage takes to grow a volume.
RESIZE_SECS = 2


class ResizeMixin(DemoBase):
    """Mixin of DemoPve: grow a VM disk (fakepve's container resize already checks as PVE does)."""

    def _routes_demo_resize(self) -> list[tuple[str, str, Any]]:
        return [("PUT", "/nodes/{node}/qemu/{vmid}/resize", self._demo_qm_resize)]

    async def _demo_qm_resize(self, v: dict[str, Any], user: str) -> str:
        vm = self.find(v["node"], v["vmid"])
        if v.get("skiplock") and user != "root@pam":
            raise param_error(skiplock="Only root may use this option.")

        async def work(log: Log) -> None:
            await self._demo_grow_disk(vm, v, user, log)

        return await self.run_task(vm.node, "resize", vm.vmid, user, work, vm=vm)

    async def _demo_grow_disk(self, vm: Any, v: dict[str, Any], user: str, log: Log) -> None:
        """The worker: qemu-server's resize checks in its order, then the new size= in the config."""
        if not self.quorate:
            raise TaskError("cluster not ready - no quorum?")
        if v.get("digest") and v["digest"] != self.qm_digest(vm):
            raise TaskError(DIGEST_CHANGED)
        if vm.lock and not v.get("skiplock"):
            raise TaskError(locked_message(vm))
        disk = v["disk"]
        if not vm.config.get(disk):
            raise TaskError(f"disk '{disk}' does not exist")
        volume, props = split_drive(vm.config[disk])
        if not volume or volume == "none":
            raise TaskError(f"disk '{disk}' has no associated volume")
        if is_cdrom(volume, props):
            raise TaskError("you can't resize a cdrom")
        sid, name = volume_ref(volume)
        size = self._demo_volume_bytes(sid, name, props, user)
        new = requested_size(str(v["size"]), size)
        if new < size:
            raise TaskError("shrinking disks is not supported")
        if new == size:
            return
        await self.ceph_io(vm, [disk])
        await self.pause(RESIZE_SECS)
        self._demo_grow_volume(sid, name, new)
        vm.config[disk] = join_drive(volume, dict(props, size=format_size(new)))
        for line in self._demo_resize_output(sid, name, size, new, vm.status == "running"):
            log(line)

    def _demo_volume_bytes(self, sid: str | None, name: str, props: dict[str, str], user: str) -> int:
        """The volume's size as the storage knows it (its config size= otherwise); needs AllocateSpace."""
        if sid is None:
            return config_bytes(props.get("size"))
        try:
            self.require(user, "/storage/" + sid, "Datastore.AllocateSpace")
        except PveError as e:
            raise TaskError(e.message) from e
        vol = self.storages.get(sid, {}).get("volumes", {}).get(name) or {}
        return int(vol.get("size") or 0) or config_bytes(props.get("size"))

    def _demo_grow_volume(self, sid: str | None, name: str, new: int) -> None:
        store = self.storages.get(sid or "", {})
        vol = store.get("volumes", {}).get(name)
        if vol is None:
            return
        if "avail" in store:
            store["avail"] = max(store["avail"] - (new - int(vol.get("size") or 0)), 0)
        vol["size"] = new

    def _demo_resize_output(self, sid: str | None, name: str, old: int, new: int, running: bool) -> list[str]:
        """What the storage tools print: lvresize for LVM, rbd for Ceph, qemu-img for a stopped file image."""
        kind = self.storages.get(sid or "", {}).get("type")
        if kind in ("lvm", "lvmthin"):
            lv = f"{self.storages[sid or ''].get('vgname', 'pve')}/{name}"
            return [
                f"  Size of logical volume {lv} changed from {lvm_size(old)} to {lvm_size(new)}.",
                f"  Logical volume {lv} successfully resized.",
            ]
        if kind == "rbd":
            return ["Resizing image: 100% complete...done."]
        if kind in ("dir", "nfs", "cifs") and not running:
            return ["Image resized."]
        return []
