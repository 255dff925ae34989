"""Restore from a vzdump archive: POST /nodes/{node}/qemu with archive= starts a qmrestore task."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fakepve import FakeVm, PveError, TaskError
from fakepve.lxc import format_size
from fakepve.qemu import CREATE_ONLY, DRIVE_KEY, drives_of, is_cdrom, join_drive, volume_ref, with_mac
from fakepve.routing import die, param_error, split_list
from fakepve.storage import _is_file

from pvesim.base import DemoBase, Log, guest_kind, locked_message, set_lock
from pvesim.qm_restore_cleanup import QemuRestoreCleanup
from pvesim.units import GIB, config_bytes

RESTORE_RATE = 1.4 * GIB
PROGRESS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass
class Restore:
    """One restore request, once its synchronous checks passed."""

    vmid: int
    node: str
    user: str
    params: dict[str, Any]
    sid: str
    volname: str
    vol: dict[str, Any]
    target: Any
    overwrite: bool
    emsg: str
    path: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    mounts: dict[str, str] = field(default_factory=dict)
    made: list[str] = field(default_factory=list)
    # Volumes of the guest restored over that its backup has no disk for: they stay, as unused disks.
    kept: list[str] = field(default_factory=list)


def restore_seconds(total: int) -> float:
    """PVE seconds a restore of total bytes takes."""
    return min(max(total / RESTORE_RATE, 5.0), 120.0)


class RestoreBase(DemoBase):
    """What both restores share: finding the archive and checking who may restore over what."""

    def _backup_volume(self, user: str, archive: str) -> tuple[str, str, dict[str, Any]]:
        """PVE's check_volume_access(..., 'backup') and abs_filesystem_path: (storage, volname, volume)."""
        sid, colon, volname = archive.partition(":")
        if not colon:
            if user != "root@pam":
                raise die("Only root can pass arbitrary filesystem paths.")
            raise die(f"can't find file '{archive}'")
        store = self._store(sid)
        vtype, owner, _fmt = self._parse_volname(store, volname)
        if vtype != "backup":
            raise die(f"unable to use volume {archive} - content type needs to be 'backup'")
        self._check_access(user, sid, vtype, owner, archive)
        vol = store.get("volumes", {}).get(volname)
        if vol is None:
            raise die(f"can't find file '{archive}'")
        return sid, volname, vol

    def _restore_allowed(self, user: str, vmid: int, pool: str | None, overwrite: bool) -> None:
        """VM.Allocate on the guest or its pool, or VM.Backup to restore over an existing guest."""
        if self.allowed(user, f"/vms/{vmid}", "VM.Allocate"):
            return
        if pool and self.allowed(user, "/pool/" + pool, "VM.Allocate"):
            return
        if overwrite and self.allowed(user, f"/vms/{vmid}", "VM.Backup"):
            return
        raise PveError(403, "Permission check failed")

    def _archive_config(self, job: Restore, kind: str) -> dict[str, Any]:
        """The guest config the archive recorded, or the task error PVE gives for a foreign archive."""
        saved = job.vol.get("guest") or {}
        if job.vol.get("subtype") != kind or "config" not in saved:
            what = "qemu-server.conf" if kind == "qemu" else "pct.conf"
            raise TaskError(f"unable to find configuration file '{what}' in archive '{job.path}'")
        return dict(saved["config"])


class QemuRestoreMixin(QemuRestoreCleanup, RestoreBase):
    """Mixin of DemoPve: qmrestore; a create without archive stays fakepve's."""

    async def _qm_create(self, v: dict[str, Any], user: str) -> str:
        if not v.get("archive"):
            return str(await super()._qm_create(v, user))
        job = self._qmrestore_job(v, user)

        async def work(log: Log) -> None:
            await self._qmrestore_work(job, log)

        return await self.run_task(job.node, "qmrestore", job.vmid, user, work, vm=job.target)

    def _qmrestore_job(self, v: dict[str, Any], user: str) -> Restore:
        """qemu-server's create_vm up to fork_worker: every check that answers before a task exists."""
        node, vmid, pool = v["node"], int(v["vmid"]), v.get("pool")
        self.need_quorum()
        self._qm_check_pool(pool)
        if v.get("storage"):
            self.require(user, "/storage/" + v["storage"], "Datastore.AllocateSpace")
        existing = self.vm(vmid)
        self._restore_allowed(user, vmid, pool, bool(v.get("force")) and existing is not None)
        if v.get("start"):
            self._qm_perm(user, vmid, pool, "VM.PowerMgmt")
        overrides = self._qmrestore_overrides(v, user, vmid, pool)
        sid, volname, vol = self._backup_volume(user, v["archive"])
        emsg = f"unable to restore VM {vmid} -"
        target, overwrite = self._qmrestore_target(vmid, node, bool(v.get("force")), emsg)
        path = self._volume_path(sid, volname, "backup")
        return Restore(vmid, node, user, dict(v), sid, volname, vol, target, overwrite, emsg, path, overrides)

    def _qmrestore_overrides(
        self, v: dict[str, Any], user: str, vmid: int, pool: str | None
    ) -> dict[str, Any]:
        """Config keys sent beside archive= replace the archive's; disks may not be given."""
        params = {k: x for k, x in v.items() if k not in CREATE_ONLY}
        drives = sorted(k for k in params if DRIVE_KEY.match(k))
        if drives:
            raise param_error(**{drives[0]: "option conflicts with option 'archive'"})
        for key in sorted(params):
            priv = self._config_priv(key)
            if priv == "root" and user != "root@pam":
                raise PveError(403, f"only root can set '{key}' config")
            if priv != "root":
                self._qm_perm(user, vmid, pool, priv)
        return {k: with_mac(x) if re.fullmatch(r"net\d+", k) else x for k, x in params.items()}

    def _qmrestore_target(self, vmid: int, node: str, force: bool, emsg: str) -> tuple[Any, bool]:
        """create_and_lock_config: the VM to restore into, locked 'create'; (vm, True) when it existed."""
        other = self.guest(vmid)
        if other is not None:
            if not force or guest_kind(other) != "qemu" or other.node != node:
                kind = "CT" if guest_kind(other) == "lxc" else "VM"
                raise PveError(500, f"{emsg} {kind} {vmid} already exists on node '{other.node}'")
            if other.lock:
                raise PveError(500, f"{emsg} {locked_message(other)}")
            set_lock(other, "create")
            return other, True
        vm = FakeVm(vmid, f"VM {vmid}", node=node)
        vm.config.pop("name", None)
        set_lock(vm, "create")
        self.vms.append(vm)
        return vm, False

    async def _qmrestore_work(self, job: Restore, log: Log) -> None:
        vm = job.target
        try:
            if job.overwrite and str(vm.config.get("protection", "0")) == "1":
                raise TaskError(f"{job.emsg} - protection mode enabled")
            if job.overwrite and vm.status == "running":
                raise TaskError(f"{job.emsg} vm is running")
            if job.params.get("live-restore"):
                raise TaskError(
                    "live-restore is only compatible with backup images from a Proxmox Backup Server"
                )
            config = self._archive_config(job, "qemu")
            self._vma_header(job, config, log)
            if job.overwrite:
                job.kept = self._qmrestore_destroy(vm, self._archive_drives(config), log)
            drives = await self._vma_extract(job, config, log)
        except TaskError:
            for volid in job.made:
                self._qm_free(volid)
            if job.overwrite:
                set_lock(vm, None)
            elif vm in self.vms:
                self.vms.remove(vm)
            raise
        self._qmrestore_finish(job, config, drives, log)

    def _vma_header(self, job: Restore, config: dict[str, Any], log: Log) -> None:
        """vma extract's opening lines: the command, the config and devices in the archive, its time."""
        fmt = str(job.vol.get("format", "vma"))
        unpack = {"vma.zst": "zstd -q -d -c", "vma.gz": "zcat", "vma.lzo": "lzop -d -c"}.get(fmt)
        tmp = f"/var/tmp/vzdumptmp{next(self._pids)}"  # noqa: S108 - only a log line
        if unpack:
            log(f"restore vma archive: {unpack} {job.path} | vma extract -v -r {tmp}.fifo - {tmp}")
        else:
            log(f"restore vma archive: vma extract -v -r {tmp}.fifo {job.path} {tmp}")
        log(f"CFG: size: {sum(len(f'{k}: {x}') + 1 for k, x in config.items())} name: qemu-server.conf")
        for n, (key, _volume, props) in enumerate(self._vma_devices(config), 1):
            log(f"DEV: dev_id={n} size: {self._drive_bytes(props)} devname: drive-{key}")
        log("CTIME: " + time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(job.vol.get("ctime") or 0)))

    @staticmethod
    def _vma_devices(config: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
        """The drives a VM archive holds: not CD-ROMs, not those marked backup=0."""
        return [
            (key, volume, props)
            for key, volume, props in drives_of(config, skip_cdrom=True)
            if str(props.get("backup", "1")) != "0"
        ]

    @staticmethod
    def _drive_bytes(props: dict[str, str]) -> int:
        return config_bytes(props.get("size"))

    async def _vma_extract(self, job: Restore, config: dict[str, Any], log: Log) -> dict[str, str]:
        """Allocate each disk of the archive and copy it: {drive key: new config value}."""
        drives, total = {}, 0
        for key, volume, props in self._vma_devices(config):
            size = self._drive_bytes(props)
            volid = self._qmrestore_alloc(job, key, volume, size, log)
            drives[key] = join_drive(volid, dict(props, size=format_size(size)))
            total += size
        seconds, done = restore_seconds(total), 0.0
        for share in PROGRESS:
            await self.pause(seconds * share - done)
            done = seconds * share
            log(f"progress {int(share * 100)}% (read {int(total * share)} bytes, duration {int(done)} sec)")
        sparse = int(total * 0.62)
        log(f"total bytes read {total}, sparse bytes {sparse} ({100 * sparse / max(total, 1):.1f}%)")
        log("space reduction due to 4K zero blocks 0.41%")
        log("rescan volumes...")
        return drives

    def _qmrestore_alloc(self, job: Restore, key: str, volume: str, size: int, log: Log) -> str:
        """A new volume for one disk, on the storage asked for or the disk's own."""
        sid = job.params.get("storage") or volume_ref(volume)[0] or ""
        store = self.storages.get(sid)
        if store is None:
            raise TaskError(f"storage '{sid}' does not exist")
        if "images" not in split_list(store.get("content")):
            raise TaskError(f"content type 'images' is not available on storage '{sid}'")
        try:
            self.require(job.user, "/storage/" + sid, "Datastore.AllocateSpace")
            fmt = "qcow2" if _is_file(store) and volume.endswith(".qcow2") else None
            volid, _fmt = self._qm_alloc(sid, job.vmid, fmt, size)
        except PveError as e:
            raise TaskError(e.message) from e
        job.made.append(volid)
        name = volume_ref(volid)[1]
        if store.get("type") in ("lvm", "lvmthin"):
            log(f'  Logical volume "{name}" created.')
        log(f"new volume ID is '{volid}'")
        log(f"map 'drive-{key}' to '{self._volume_path(sid, name, 'images')}' (write zeros = 0)")
        return volid

    def _qmrestore_finish(
        self, job: Restore, config: dict[str, Any], drives: dict[str, str], log: Log
    ) -> None:
        """The restored config: the archive's, new disks, the request's overrides; then pool and start."""
        vm, final = job.target, {k: x for k, x in config.items() if not DRIVE_KEY.match(k) or k in drives}
        for key, volume, props in drives_of(config):
            if is_cdrom(volume, props) and volume.endswith("cloudinit"):
                sid = job.params.get("storage") or volume_ref(volume)[0]
                final[key] = join_drive(f"{sid}:vm-{job.vmid}-cloudinit", props)
            elif is_cdrom(volume, props):
                final[key] = config[key]
        final.update(drives)
        final.update(job.overrides)
        self._rescan(job.vmid, final, job.kept, log)
        if job.params.get("unique"):
            self._make_unique(final)
        vm.config, vm.pending, vm.snapshots = final, {}, {}
        vm.name = final.get("name") or f"VM {job.vmid}"
        vm.template = str(final.get("template", "0")) == "1"
        vm.agent = (job.vol.get("guest") or {}).get("agent")
        set_lock(vm, None)
        if vm.template:
            log("Convert to template.")
        if job.params.get("pool"):
            self._pool_join(job.params["pool"], job.vmid)
        if job.params.get("start") and not vm.template:
            log("Execute autostart")
            vm.status = vm.qmpstatus = "running"
            vm.started_at = time.time()

    @staticmethod
    def _make_unique(config: dict[str, Any]) -> None:
        """unique=1: new MAC addresses, SMBIOS uuid and VM generation id."""
        for key in [k for k in config if re.fullmatch(r"net\d+", k)]:
            config[key] = with_mac(config[key], fresh=True)
        if "smbios1" in config:
            rest = [p for p in str(config["smbios1"]).split(",") if not p.startswith("uuid=")]
            config["smbios1"] = ",".join([f"uuid={uuid.uuid4()}", *rest])
        if "vmgenid" in config:
            config["vmgenid"] = str(uuid.uuid4())
