"""POST /nodes/{node}/lxc/{vmid}/migrate as pve-container does it (fakepve moves the container without its
checks or log): local bind and device mounts and storages the target lacks fail the task, a running container
is shut down and started again on the target, and the log says so with PVE's timestamps."""

from __future__ import annotations

import time
from typing import Any

from fakepve import PveError, TaskError
from fakepve.lxc import MOUNT_KEY, mount_type, parse_mount, print_mount
from fakepve.routing import param_error, split_list

from pvesim.base import DemoBase, Log, stamp
from pvesim.units import hms

# PVE seconds to copy a local volume, and to move the config and clean up.
COPY_SECS = 3
CLEANUP_SECS = 1


class CtMigrateMixin(DemoBase):
    """Mixin of DemoPve: a container's migration with pve-container's checks and log."""

    async def _lxc_migrate(self, user: str, v: dict[str, Any]) -> str:
        """migrate_vm: the API's early checks, then a 'vzmigrate' worker (HA's guests: fakepve's 'hamigrate')."""
        target = v["target"]
        if target == v["node"]:
            raise param_error(target="target is local node.")
        self.need_quorum()
        if target not in self.nodes:
            raise PveError(500, f"no such cluster node '{target}'")
        ct = self._find_ct(v["node"], v["vmid"])
        if ct.status == "running" and not v.get("online") and not v.get("restart"):
            raise PveError(500, "can't migrate running container without --online or --restart")
        mapped = v.get("target-storage")
        if mapped and mapped not in self.storages:
            raise PveError(500, f"storage '{mapped}' does not exist")
        if ct.ha_managed:
            upid: str = await super()._lxc_migrate(user, v)
            return upid

        async def work(log: Log) -> None:
            await self._demo_ct_migrate(ct, target, v, log)

        return await self.run_task(ct.node, "vzmigrate", ct.vmid, user, work, vm=ct)

    async def _demo_ct_migrate(self, ct: Any, target: str, v: dict[str, Any], log: Log) -> None:
        """PVE::LXC::Migrate: prepare (checks, shutdown), copy local volumes, move, start on the target."""
        began = time.time()

        def say(line: str) -> None:
            log(f"{stamp()} {line}")

        try:
            await self._demo_ct_phases(ct, target, v, say)
        except TaskError as exc:
            say(f"ERROR: migration aborted (duration {hms(time.time() - began)}): {exc}")
            raise TaskError("migration aborted") from None
        say(f"migration finished successfully (duration {hms(time.time() - began)})")

    async def _demo_ct_phases(self, ct: Any, target: str, v: dict[str, Any], say: Log) -> None:
        if ct.lock:
            raise TaskError(f"CT is locked ({ct.lock})")
        running = ct.status == "running"
        if running and v.get("online"):
            raise TaskError("lxc live migration is currently not implemented")
        if running and not v.get("restart"):
            raise TaskError("running container can only be migrated in restart mode")
        local = self._demo_ct_volumes(ct, target, v.get("target-storage"))
        if running:
            say(f"shutdown CT {ct.vmid}")
            await self._ct_powerdown(ct, v.get("timeout") or 180, True)
        say(f"starting migration of CT {ct.vmid} to node '{target}' ({self.demo_node_ip(target)})")
        ct.lock = "migrate"
        try:
            for _key, volid, _storage in local:
                say(f"found local volume '{volid}' (in current VM config)")
            for key, volid, storage in local:
                await self.pause(COPY_SECS)
                moved = self._demo_ct_move_volume(ct, key, volid, storage)
                say(f"volume '{volid}' is '{moved}' on the target")
            say("start final cleanup")
            await self.pause(CLEANUP_SECS)
            ct.node = target
        finally:
            ct.lock = None
        if running:
            say("start container on target node")
            ct.status, ct.started_at, ct.pid = "running", time.time(), next(self._ct_pids)

    def _demo_ct_volumes(self, ct: Any, target: str, mapped: str | None) -> list[tuple[str, str, str]]:
        """prepare's checks of each mount point; (key, volume, target storage) of the local volumes."""
        local = []
        for key in sorted(k for k in ct.config if MOUNT_KEY.match(k)):
            mount = parse_mount(ct.config[key])
            volume = str(mount.get("volume", ""))
            kind = mount_type(volume)
            if kind != "volume":
                if str(mount.get("shared", "0")) in ("1", "true"):
                    continue
                raise TaskError(f"cannot migrate local {kind} mount point '{key}'")
            storage = volume.split(":", 1)[0]
            store = self.storages.get(storage) or {}
            if "rootdir" not in split_list(store.get("content")):
                raise TaskError(f"content type 'rootdir' is not available on storage '{storage}'")
            wanted = storage if store.get("shared") or not mapped else mapped
            try:
                self._check_enabled(wanted, target)
            except PveError as exc:
                raise TaskError(exc.message) from None
            if "rootdir" not in split_list((self.storages.get(wanted) or {}).get("content")):
                raise TaskError(f"{volume}: content type 'rootdir' is not available on storage '{wanted}'")
            if not store.get("shared"):
                local.append((key, volume, wanted))
        return local

    def _demo_ct_move_volume(self, ct: Any, key: str, volid: str, storage: str) -> str:
        """The volume on the target's storage (the same name; another storage when one was mapped)."""
        source, name = volid.split(":", 1)
        if storage == source:
            return volid
        record = self.storages[source].get("volumes", {}).pop(name, None)
        if record is not None:
            self.storages[storage].setdefault("volumes", {})[name] = record
        mount = parse_mount(ct.config[key])
        mount["volume"] = f"{storage}:{name}"
        ct.config[key] = print_mount(mount, key == "rootfs")
        return str(mount["volume"])
