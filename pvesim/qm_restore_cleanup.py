"""What a VM restore does to the VM it replaces, as qemu-server's restore_cleanup_oldconf and rescan do it.

fakepve has no restore; the demo's first version freed every old volume. Proxmox frees only the drives the VM
owns that the archive restores (by drive key, parse_backup_hints: its disks and cloud-init drives), frees the
snapshots' RAM states, and keeps the VM's other volumes, which the rescan after the restore adds as unusedN.
"""

from __future__ import annotations

import re
from typing import Any

from fakepve.qemu import drives_of, is_cdrom, volume_ref

from pvesim.base import DemoBase, Log, set_lock
from pvesim.destroy import volume_owner

# QemuServer::Drive::drive_is_cloudinit, and the detached disks of a config.
CLOUDINIT = re.compile(r"[:/](?:vm-\d+-)?cloudinit(?:\.(?:raw|qcow2|vmdk))?$")
UNUSED_KEY = re.compile(r"^unused\d+$")


class QemuRestoreCleanup(DemoBase):
    """Part of QemuRestoreMixin: the old VM's volumes in a restore over it, and the rescan after."""

    def _archive_drives(self, config: dict[str, Any]) -> set[str]:
        """The drives the restore writes (parse_backup_hints): the archive's disks and its cloud-init drives."""
        drives = {key for key, _volume, _props in self._vma_devices(config)}
        return drives | {key for key, volume, props in drives_of(config) if CLOUDINIT.search(volume)}

    def _qmrestore_destroy(self, vm: Any, restored: set[str], log: Log) -> list[str]:
        """restore_cleanup_oldconf: of the old drives the VM owns, those the archive restores are freed, the
        others kept (rescan makes them unused disks); snapshots' RAM states go. Returns the kept volumes."""
        kept = []
        for key, volume, props in drives_of(vm.config):
            if is_cdrom(volume, props) and not CLOUDINIT.search(volume):
                continue
            if volume_owner(volume) != vm.vmid:
                continue
            if key not in restored:
                kept.append(volume)
                continue
            self._qm_free(volume)
            sid, name = volume_ref(volume)
            if self.storages.get(sid or "", {}).get("type") in ("lvm", "lvmthin"):
                log(f'  Logical volume "{name}" successfully removed.')
        for snap in vm.snapshots.values():
            if snap.get("vmstate"):
                self._qm_free(str(snap["vmstate"]))
        vm.config, vm.snapshots, vm.pending = {}, {}, {}
        set_lock(vm, "restore")
        return kept

    def _rescan(self, vmid: int, config: dict[str, Any], kept: list[str], log: Log) -> None:
        """QemuServer::rescan: every volume the VM owns that its config does not name becomes unusedN."""
        named = {volume for _key, volume, _props in drives_of(config)}
        named |= {str(x).split(",", 1)[0] for k, x in config.items() if UNUSED_KEY.match(k)}
        found = list(kept)
        for sid, store in self.storages.items():
            for name, vol in store.get("volumes", {}).items():
                volid = f"{sid}:{name}"
                if vol.get("content") == "images" and volume_owner(volid) == vmid and "-state-" not in name:
                    found.append(volid)
        for volid in dict.fromkeys(found):
            if volid in named:
                continue
            key = next(f"unused{n}" for n in range(256) if f"unused{n}" not in config)
            config[key] = volid
            named.add(volid)
            log(f"VM {vmid} add unreferenced volume '{volid}' as '{key}' to config")
