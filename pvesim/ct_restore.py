"""Restore a container: POST /nodes/{node}/lxc with ostemplate=<backup volid>&restore=1 (vzrestore)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fakepve import FakeCt, PveError, TaskError
from fakepve.lxc import CREATE_ONLY, MOUNT_KEY, mount_type, normalise, parse_mount, print_mount, split_props
from fakepve.routing import die

from pvesim.base import Log, set_lock
from pvesim.destroy import ct_volumes, volume_owner
from pvesim.restore import Restore, RestoreBase, restore_seconds
from pvesim.units import config_bytes, iec

MOUNT_PARAM = re.compile(r"^(rootfs|mp\d+)$")


class CtRestoreMixin(RestoreBase):
    """Mixin of DemoPve: vzrestore; a create from a template stays fakepve's."""

    async def _lxc_create(self, user: str, v: dict[str, Any]) -> str:
        if not v.get("restore"):
            return str(await super()._lxc_create(user, v))
        job = self._vzrestore_job(user, v)

        async def work(log: Log) -> None:
            await self._vzrestore_work(job, log)

        return await self.run_task(job.node, "vzrestore", job.vmid, user, work, vm=job.target)

    def _vzrestore_job(self, user: str, v: dict[str, Any]) -> Restore:
        """pve-container's create_vm up to fork_worker, for a restore."""
        node, vmid, pool, force = v["node"], int(v["vmid"]), v.get("pool"), bool(v.get("force"))
        self.need_quorum()
        existing = self._vzrestore_existing(vmid, node, force)
        overwrite = existing is not None
        if pool and pool not in self.pools:
            raise PveError(403, f"Permission check failed (pool '{pool}' does not exist)")
        self._restore_allowed(user, vmid, pool, overwrite)
        if v.get("start"):
            self._vm_perm(user, vmid, pool, "VM.PowerMgmt")
        params = {k: x for k, x in v.items() if k not in CREATE_ONLY}
        self._check_modify_perm(user, vmid, pool, None, params, [], v.get("unprivileged"))
        sid, volname, vol = self._backup_volume(user, str(v["ostemplate"]))
        mounts = self._vzrestore_mounts(user, vmid, v, params)
        target = existing if overwrite else FakeCt(vmid, node=node, defaults=False)
        set_lock(target, "create")
        if not overwrite:
            self.cts.append(target)
        path = self._volume_path(sid, volname, "backup")
        emsg = f"unable to restore CT {vmid} -"
        overrides = {k: normalise(k, x) for k, x in params.items() if not MOUNT_PARAM.match(k)}
        job = Restore(vmid, node, user, dict(v), sid, volname, vol, target, overwrite, emsg, path, overrides)
        job.mounts = mounts
        return job

    def _vzrestore_existing(self, vmid: int, node: str, force: bool) -> Any:
        """The container a forced restore replaces (stopped, unprotected); None if the id must be free."""
        existing = self.ct(vmid)
        if not (force and existing is not None and existing.node == node):
            self._check_vmid_unused(vmid)
            return None
        if existing.status == "running":
            raise die("can't overwrite running container")
        self._check_protection(existing, f"unable to restore CT {vmid}")
        return existing

    def _vzrestore_mounts(
        self, user: str, vmid: int, v: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, str]:
        """Mount points given in the request ('local-lvm:8', or a size on the storage); checks storages."""
        storage = v.get("storage") or "local"
        mounts = {}
        for key, value in params.items():
            if MOUNT_PARAM.match(key):
                bare = re.fullmatch(r"\d+(\.\d+)?", str(value))
                mounts[key] = f"{storage}:{value}" if bare else str(value)
        if mounts and "rootfs" not in mounts:
            raise die("mount points configured, but 'rootfs' not set - aborting")
        for value in mounts.values():
            self._storage_for(parse_mount(value)["volume"].split(":")[0], user, vmid)
        if not mounts:
            self._storage_for(storage, user, vmid)
        return mounts

    async def _vzrestore_work(self, job: Restore, log: Log) -> None:
        ct = job.target
        try:
            log(f"recovering backed-up configuration from '{job.sid}:{job.volname}'")
            config = self._archive_config(job, "lxc")
            old = dict(ct.config) if job.overwrite else {}
            mounts = self._vzrestore_allocate(job, config, log)
            self._vzrestore_destroy_old(job.vmid, old)
            log(f"restoring '{job.sid}:{job.volname}' now..")
            log(f"extracting archive '{job.path}'")
            total = sum(config_bytes(parse_mount(m).get("size")) for m in mounts.values())
            seconds = restore_seconds(total)
            await self.pause(seconds)
            data = int(total * 0.4)
            rate = iec(data / seconds).replace(" ", "")
            log(f"Total bytes read: {data} ({iec(data).replace(' ', '')}, {rate}/s)")
        except TaskError as e:
            if job.overwrite:
                set_lock(ct, None)
            else:
                self._drop(ct)
            raise TaskError(f"{job.emsg} {e}") from e
        log("merging backed-up and given configuration..")
        await self._vzrestore_finish(job, config, mounts)

    def _vzrestore_allocate(self, job: Restore, config: dict[str, Any], log: Log) -> dict[str, str]:
        """New volumes for the archive's mount points (sizes as backed up) or for the ones requested."""
        wanted = dict(job.mounts)
        storage = job.params.get("storage") or "local"
        if not wanted:
            for key, value in config.items():
                mount = parse_mount(value) if MOUNT_PARAM.match(key) else {}
                if mount_type(mount.get("volume", "/")) == "volume" and mount.get("size"):
                    gib = config_bytes(mount["size"]) / 1024**3
                    wanted[key] = print_mount(dict(mount, volume=f"{storage}:{gib:g}"), key == "rootfs")
        if "rootfs" not in wanted:
            raise TaskError("rootfs configuration could not be recovered, please check and specify manually!")
        taken, out = self._taken_volumes(), {}
        for key in sorted(wanted, key=lambda k: (k != "rootfs", k)):
            out[key] = self._realise(job.vmid, key, wanted[key], taken)
            self._vzrestore_mkfs(out[key], log)
        return out

    def _vzrestore_destroy_old(self, vmid: int, old: dict[str, Any]) -> None:
        """destroy_lxc_container on the replaced config, once the new volumes exist: the volumes it owns go
        (unused ones too), bind and device mounts and other guests' volumes stay."""
        for volid in dict.fromkeys(ct_volumes(old)):
            if volume_owner(volid) == vmid:
                self._qm_free(volid)

    def _vzrestore_mkfs(self, value: str, log: Log) -> None:
        """What creating a volume and its ext4 file system prints."""
        mount = parse_mount(value)
        sid, _colon, name = mount["volume"].partition(":")
        if self.storages.get(sid, {}).get("type") in ("lvm", "lvmthin"):
            log(f'  Logical volume "{name}" created.')
        blocks = config_bytes(mount.get("size")) // 4096
        log(f"Creating filesystem with {blocks} 4k blocks and {blocks // 4} inodes")
        log(f"Filesystem UUID: {uuid.uuid4()}")
        log("Allocating group tables: done")
        log("Writing inode tables: done")
        log("Creating journal (16384 blocks): done")
        log("Writing superblocks and filesystem accounting information: done")

    async def _vzrestore_finish(self, job: Restore, config: dict[str, Any], mounts: dict[str, str]) -> None:
        """The archive's config with the new volumes and the request's options; then pool and start."""
        ct = job.target
        # Bind and device mounts come back as they were; volumes are the new ones.
        final = {k: x for k, x in config.items() if not MOUNT_KEY.match(k) or not is_volume(x)}
        final.update(mounts)
        final.update(job.overrides)
        if job.params.get("unprivileged") is not None:
            final["unprivileged"] = 1 if job.params["unprivileged"] else 0
        final.setdefault("hostname", f"CT{job.vmid}")
        final.setdefault("memory", 512)
        final.setdefault("swap", 512)
        if job.params.get("unique"):
            for key in [k for k in final if re.fullmatch(r"net\d+", k)]:
                final[key] = fresh_hwaddr(key, final[key])
        ct.config, ct.pending, ct.snapshots, ct.status, ct.pid = final, {}, {}, "stopped", None
        if job.params.get("pool"):
            self._pool_join(job.params["pool"], job.vmid)
        if job.params.get("start") and not ct.template:
            await self._start_steps(ct, job.user)


def is_volume(value: Any) -> bool:
    """True for a mount point on a storage volume (not a bind or device mount)."""
    return mount_type(parse_mount(str(value)).get("volume", "/")) == "volume"


def fresh_hwaddr(key: str, value: str) -> str:
    """A container NIC with a new MAC address (unique=1)."""
    props = split_props(value)[1]
    props.pop("hwaddr", None)
    return normalise(key, ",".join(f"{k}={x}" for k, x in props.items()))
