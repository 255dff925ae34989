"""VM migration as qemu-server does it (GET/POST /nodes/{node}/qemu/{vmid}/migrate: fakepve has only a model
helper), HA's POST /cluster/ha/resources/{sid}/migrate, and containers' preconditions as pve-container checks.

The worker logs as PVE::QemuMigrate does, a line per PVE second while RAM is copied ("migration active,
transferred 1.2 GiB of 4.0 GiB VM-state, 312.4 MiB/s"), and the VM lives on the target node when it ends."""

from __future__ import annotations

import asyncio
import math
import re
import time
from typing import Any

from fakepve import PveError, TaskError
from fakepve.qemu import join_drive, split_drive
from fakepve.routing import param_error

from pvesim.base import Log, guest_kind, locked_message, stamp
from pvesim.migrate_checks import MigrateChecksMixin, local_devices
from pvesim.units import GIB, MIB, hms, iec

# Bytes a live migration copies per PVE second (RAM, and local disks it mirrors), and the pause at the switch.
RAM_SPEED = int(312.4 * MIB)
DISK_SPEED = int(1.1 * GIB)
DOWNTIME_MS = 57
# At most this many progress lines per copy: a big VM copies faster rather than logging for minutes.
MAX_STEPS = 12
# PVE seconds for starting the VM on the target, and for moving the config of a stopped one.
SETUP_SECS = 2


def ha_kind(guest: Any) -> str:
    """'vm' or 'ct', as HA names a guest's resource (vm:100, ct:101)."""
    return "ct" if guest_kind(guest) == "lxc" else "vm"


def memory_bytes(config: dict[str, Any]) -> int:
    """The VM's RAM: `memory` is MiB, plain or as 'current=N' (PVE 9), 512 when unset."""
    found = re.search(r"\d+", str(config.get("memory", "512")))
    return int(found.group(0) if found else 512) * MIB


class MigrateMixin(MigrateChecksMixin):
    """Mixin of DemoPve: VM migration, HA-requested migration, container preconditions."""

    def _routes_demo_migrate(self) -> list[tuple[str, str, Any]]:
        one = "/nodes/{node}/qemu/{vmid}/migrate"
        return [
            ("GET", one, self._demo_qm_migrate_check),
            ("POST", one, self._demo_qm_migrate),
            ("POST", "/cluster/ha/resources/{sid}/migrate", self._demo_ha_migrate),
        ]

    async def _demo_qm_migrate_check(self, v: dict[str, Any], user: str) -> dict[str, Any]:
        """migrate_vm_precondition: running, allowed and not allowed nodes, local disks and devices."""
        vm = self.find(v["node"], v["vmid"])
        self.need_quorum()
        if vm.lock:
            raise PveError(500, locked_message(vm))
        allowed, refused = [], {}
        for node in sorted(self.nodes):
            if node == vm.node:
                continue
            missing = self.demo_unavailable(vm, node)
            if missing:
                refused[node] = {"unavailable_storages": missing}
            else:
                allowed.append(node)
        answer: dict[str, Any] = {
            "running": 1 if vm.status == "running" else 0,
            "allowed_nodes": allowed,
            "not_allowed_nodes": refused,
            "local_disks": self.demo_local_volumes(vm),
            "local_resources": local_devices(vm.config),
            "mapped-resources": [],
            "mapped-resource-info": {},
            "has-dbus-vmstate": 1,
        }
        if vm.ha_managed:
            answer["dependent-ha-resources"] = []
        return answer

    async def _demo_qm_migrate(self, v: dict[str, Any], user: str) -> str:
        """migrate_vm: the API's early checks, then a 'qmigrate' worker (or 'hamigrate' for HA's guests)."""
        target = v["target"]
        if target == v["node"]:
            raise param_error(target="target is local node.")
        self.need_quorum()
        if target not in self.nodes:
            raise PveError(500, f"no such cluster node '{target}'")
        for option in ("force", "migration_type", "migration_network"):
            if v.get(option) and user.split("!")[0] != "root@pam":
                raise param_error(**{option: "Only root may use this option."})
        vm = self.find(v["node"], v["vmid"])
        if vm.lock:
            raise PveError(500, locked_message(vm))
        online = bool(v.get("online")) and vm.status == "running"
        if vm.status == "running" and not v.get("online"):
            raise PveError(500, "can't migrate running VM without --online")
        self.demo_check_storage(vm, target, v.get("targetstorage"))
        if vm.ha_managed:
            return await self._demo_ha_request(vm, target, user)

        async def work(log: Log) -> None:
            await self._demo_migrate_vm(vm, target, online, v, log)

        return await self.run_task(vm.node, "qmigrate", vm.vmid, user, work, vm=vm)

    async def _demo_ha_request(self, guest: Any, target: str, user: str) -> str:
        """The 'hamigrate' worker: it only hands the request to HA, which migrates the guest a little later."""
        kind = "CT" if guest_kind(guest) == "lxc" else "VM"

        async def work(log: Log) -> None:
            log(f"Requesting HA migration for {kind} {guest.vmid} to node {target}")
            await self._demo_ha_queue(guest, target)

        return await self.run_task(guest.node, "hamigrate", guest.vmid, user, work)

    async def _demo_ha_migrate(self, v: dict[str, Any], user: str) -> dict[str, Any]:
        """POST /cluster/ha/resources/{sid}/migrate: queue the CRM command; HA's LRM migrates afterwards."""
        sid = str(v["sid"])
        kind, _, number = sid.rpartition(":")
        guest = self.guest(int(number)) if number.isdigit() else None
        # parse_sid: a bare VMID names a VM ('vm:100'); service_is_ha_managed then looks that resource up.
        name = f"{kind or 'vm'}:{number}"
        if guest is None or not guest.ha_managed or name != f"{ha_kind(guest)}:{guest.vmid}":
            raise PveError(500, f"resource '{name}' is not HA managed")
        if v["node"] not in self.nodes:
            raise PveError(500, f"no such cluster node '{v['node']}'")
        await self._demo_ha_queue(guest, v["node"])
        return {"sid": name, "requested-node": v["node"]}

    async def _demo_ha_queue(self, guest: Any, target: str) -> None:
        """After ha_delay PVE seconds HA's local resource manager migrates the guest, as root@pam."""

        async def later() -> None:
            await self.pause(self.ha_delay)
            if guest.node == target:
                return
            if guest_kind(guest) == "lxc":
                restart = {"restart": 1}

                async def move(log: Log) -> None:
                    await self._demo_ct_migrate(guest, target, restart, log)

                await self.run_task(guest.node, "vzmigrate", guest.vmid, "root@pam", move, vm=guest)
                return
            online = guest.status == "running"
            v = {"node": guest.node, "vmid": guest.vmid, "target": target, "online": int(online)}

            async def work(log: Log) -> None:
                await self._demo_migrate_vm(guest, target, online, v, log)

            await self.run_task(guest.node, "qmigrate", guest.vmid, "root@pam", work, vm=guest)

        if self.time_scale:
            asyncio.ensure_future(later())
        else:
            await later()

    async def _demo_migrate_vm(self, vm: Any, target: str, online: bool, v: dict[str, Any], log: Log) -> None:
        """PVE::QemuMigrate: prepare, copy disks and RAM, move the config; logs with PVE's timestamps."""
        began = time.time()

        def say(line: str) -> None:
            log(f"{stamp()} {line}")

        try:
            await self._demo_migrate_phases(vm, target, online, v, say)
        except TaskError as exc:
            say(f"ERROR: migration aborted (duration {hms(time.time() - began)}): {exc}")
            raise TaskError("migration aborted") from None
        say(f"migration finished successfully (duration {hms(time.time() - began)})")

    async def _demo_migrate_phases(
        self, vm: Any, target: str, online: bool, v: dict[str, Any], say: Log
    ) -> None:
        if vm.lock:
            raise TaskError(locked_message(vm))
        devices = local_devices(vm.config)
        if devices:
            raise TaskError(f"can't migrate VM which uses local devices: {', '.join(devices)}")
        say(f"starting migration of VM {vm.vmid} to node '{target}' ({self.demo_node_ip(target)})")
        local = self._demo_scan(vm, online and not v.get("with-local-disks"), say)
        vm.lock = "migrate"
        vm.config["lock"] = "migrate"
        try:
            disks = [d for d in local if not d["cdrom"]]
            if online:
                await self._demo_live(vm, target, disks, say)
            else:
                await self._demo_copy_offline(disks, say)
            # A cloud-init drive is not copied: the target makes it again, on the mapped storage if any.
            made_again = [d for d in local if d["is_cloudinit"]]
            self._demo_place_volumes(vm, disks + made_again, v.get("targetstorage"))
            vm.node = target
        finally:
            vm.lock = None
            vm.config.pop("lock", None)

    def _demo_scan(self, vm: Any, live_only: bool, say: Log) -> list[dict[str, Any]]:
        """scan_local_volumes: the local disks; a local ISO, or an attached disk a live move may not copy, aborts."""
        local = self.demo_local_volumes(vm)
        problems = []
        for disk in local:
            if disk["is_cloudinit"]:
                say(f"found generated disk '{disk['volid']}' (in current VM config)")
                continue
            if disk["cdrom"]:
                problems.append(f"can't migrate local disk '{disk['volid']}': local cdrom image")
            elif live_only and not disk["is_unused"]:
                problems.append(
                    f"can't migrate local disk '{disk['volid']}': can't live migrate attached local disks "
                    "without with-local-disks option"
                )
            say(f"found local disk '{disk['volid']}' ({'unused' if disk['is_unused'] else 'attached'})")
        for problem in problems:
            say(f"WARN: {problem}")
        if problems:
            say("ERROR: Problem found while scanning volumes - can't migrate VM - check log")
            say("aborting phase 1 - cleanup resources")
            raise TaskError("Problem found while scanning volumes - can't migrate VM - check log")
        return local

    async def _demo_copy_offline(self, disks: list[dict[str, Any]], say: Log) -> None:
        if disks:
            say("copying local disk images")
        for disk in disks:
            await self.pause(max(1, math.ceil(disk["size"] / DISK_SPEED)))
            say(f"volume '{disk['volid']}' is '{disk['volid']}' on the target")
        await self.pause(SETUP_SECS)

    async def _demo_live(self, vm: Any, target: str, disks: list[dict[str, Any]], say: Log) -> None:
        say(f"starting VM {vm.vmid} on remote node '{target}'")
        await self.pause(SETUP_SECS)
        say("start remote tunnel")
        say("ssh tunnel ver 1")
        if disks:
            say("starting storage migration")
            for disk in [d for d in disks if not d["is_unused"]]:
                await self._demo_mirror(vm, disk, say)
            say("all 'mirror' jobs are ready")
        await self._demo_ram(vm, say)
        if disks:
            say("stopping NBD storage migration server on target.")

    async def _demo_ram(self, vm: Any, say: Log) -> None:
        """phase2's RAM copy: a 'migration active' line per PVE second, then the downtime at the switch."""
        uri = f"unix:/run/qemu-server/{vm.vmid}.migrate"
        say(f"starting online/live migration on {uri}")
        say("set migration capabilities")
        say("migration downtime limit: 100 ms")
        say(f"migration cachesize: {iec(memory_bytes(vm.config) // 8)}")
        say("set migration parameters")
        say(f"start migrate command to {uri}")
        total = memory_bytes(vm.config)
        steps = min(MAX_STEPS, max(2, math.ceil(total / RAM_SPEED)))
        for n in range(1, steps):
            await self.pause(1)
            say(
                f"migration active, transferred {iec(total * n / steps)} of {iec(total)} VM-state, "
                f"{iec(total / steps)}/s"
            )
        await self.pause(1)
        say(f"average migration speed: {iec(total / steps)}/s - downtime {DOWNTIME_MS} ms")
        say(f"migration completed, transferred {iec(total)} VM-state")
        say("migration status: completed")

    async def _demo_mirror(self, vm: Any, disk: dict[str, Any], say: Log) -> None:
        drive = f"drive-{disk['drivename']}"
        say(
            f"{disk['drivename']}: start migration to nbd:unix:/run/qemu-server/{vm.vmid}_nbd.migrate:"
            f"exportname={drive}"
        )
        say(f"drive mirror is starting for {drive}")
        size = disk["size"] or GIB
        steps = min(MAX_STEPS, max(1, math.ceil(size / DISK_SPEED)))
        for n in range(1, steps + 1):
            await self.pause(1)
            done = size * n / steps
            ready = ", ready" if n == steps else ""
            say(f"{drive}: transferred {iec(done)} of {iec(size)} ({100 * n / steps:.2f}%) in {n}s{ready}")

    def _demo_place_volumes(self, vm: Any, disks: list[dict[str, Any]], mapped: str | None) -> None:
        """With a target storage, the local volumes now live there (and the config names them so)."""
        if not mapped:
            return
        for disk in disks:
            source = self.storages.get(disk["volid"].split(":", 1)[0]) or {}
            name = disk["volid"].split(":", 1)[1]
            record = source.get("volumes", {}).pop(name, None)
            if record is not None:
                self.storages[mapped].setdefault("volumes", {})[name] = record
            volume, props = split_drive(vm.config[disk["drivename"]])
            vm.config[disk["drivename"]] = join_drive(f"{mapped}:{name}", props)
