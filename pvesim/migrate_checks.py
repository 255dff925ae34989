"""What qemu-server checks before and while a VM migrates: its local disks, local devices and storages (the
answers of GET .../qemu/{vmid}/migrate and the reasons its worker gives up)."""

from __future__ import annotations

import re
from typing import Any

from fakepve import PveError
from fakepve.qemu import drives_of, is_cdrom, volume_ref
from fakepve.routing import split_list

from pvesim.base import DemoBase
from pvesim.units import config_bytes

# Devices only this host has (PVE::QemuMigrate::Helpers::check_local_resources): passed-through PCI and USB
# devices without a cluster-wide mapping, and serial or parallel ports on a host device.
LOCAL_DEVICE = re.compile(r"^(hostpci|usb|serial|parallel)\d+$")
# QemuMigrate's name for a cloud-init drive among the CD-ROMs: it is made again on the target, not copied.
CLOUD_INIT = re.compile(r"vm-\d+-cloudinit")


def local_devices(config: dict[str, Any]) -> list[str]:
    """check_local_resources: the config keys that tie the VM to this host, sorted."""
    found = []
    for key, value in config.items():
        text = str(value)
        if not LOCAL_DEVICE.match(key) or "mapping=" in text or text in ("socket", "spice"):
            continue
        if key.startswith("usb") and ("spice" in text.split(",")[0]):
            continue
        found.append(key)
    return sorted(found)


class MigrateChecksMixin(DemoBase):
    """Mixin of DemoPve: a VM's volumes as migration sees them."""

    def demo_volumes(self, vm: Any) -> list[dict[str, Any]]:
        """foreach_volid: each volume of the config (drives and unused disks; 'none' CD-ROMs left out)."""
        found = []
        for key, volume, props in drives_of(vm.config):
            if not volume or volume == "none":
                continue
            sid, name = volume_ref(volume)
            entry = {"volid": volume, "drivename": key, "storage": sid, "name": name}
            entry["cdrom"] = 1 if is_cdrom(volume, props) else 0
            entry["is_cloudinit"] = 1 if entry["cdrom"] and CLOUD_INIT.search(volume) else 0
            entry["is_unused"] = 1 if key.startswith("unused") else 0
            stored = (self.storages.get(sid or "") or {}).get("volumes", {}).get(name) or {}
            entry["size"] = int(stored.get("size") or config_bytes(props.get("size")))
            found.append(entry)
        return found

    def demo_local_volumes(self, vm: Any) -> list[dict[str, Any]]:
        """check_vm_disks_local: the volumes on storage that is not shared, as the precondition lists them."""
        local = []
        for entry in self.demo_volumes(vm):
            store = self.storages.get(entry["storage"] or "") or {}
            if store.get("shared"):
                continue
            local.append(
                {
                    "volid": entry["volid"],
                    "drivename": entry["drivename"],
                    "size": entry["size"],
                    "cdrom": entry["cdrom"],
                    "is_cloudinit": entry["is_cloudinit"],
                    "is_unused": entry["is_unused"],
                    "referenced_in_config": 1,
                }
            )
        return local

    def demo_unavailable(self, vm: Any, node: str) -> list[str]:
        """check_local_storage_availability for one node: the VM's storages disabled or not configured there."""
        missing = set()
        for entry in self.demo_volumes(vm):
            store = self.storages.get(entry["storage"] or "")
            if store is None:
                continue
            nodes = split_list(store.get("nodes"))
            if store.get("disable") or (nodes and node not in nodes):
                missing.add(entry["storage"])
        return sorted(missing)

    def demo_check_storage(self, vm: Any, target: str, mapped: str | None) -> None:
        """check_storage_availability (no target storage) or the target storage's checks: PVE's 500s."""
        if mapped:
            store = self.storages.get(mapped)
            if store is None:
                raise PveError(500, f"storage '{mapped}' does not exist")
            self._check_enabled(mapped, target)
            if "images" not in split_list(store.get("content")):
                raise PveError(500, f"storage '{mapped}' does not support vm images")
            return
        for sid in self.demo_unavailable(vm, target):
            raise PveError(500, f"storage '{sid}' is not available on node '{target}'")

    def demo_node_ip(self, node: str) -> str:
        """The node's address as /cluster/status gives it (fakepve numbers them in name order)."""
        return f"192.0.2.{10 + sorted(self.nodes).index(node) + 1}"
