"""What vzdump does to one guest, step by step: stop, suspend or snapshot it, write the archive, log it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from fakepve import TaskError
from fakepve.lxc import SNAPSHOT_STORAGE, format_size

from pvesim.archive import Disk, backup_record, render_notes, used_share
from pvesim.base import DemoBase, Log
from pvesim.units import GIB, iec, vzdump_size

# Bytes a backup reads per PVE second (zero blocks are cheap), and the share of 100% each progress line marks.
READ_RATE = 1.1 * GIB
PROGRESS = (0.08, 0.27, 0.51, 0.76, 1.0)
SHORTEST, LONGEST = 6.0, 150.0


@dataclass
class Job:
    """One vzdump request: its parameters and the guests it runs on this node."""

    params: dict[str, Any]
    user: str
    node: str
    storage: str
    vmids: list[int]
    skipped: list[int]
    every: bool


@dataclass
class Dump:
    """One guest's backup within a job; elapsed counts PVE seconds for the log."""

    vmid: int
    guest: Any
    kind: str
    mode: str
    running: bool
    disks: list[Disk]
    ext: str
    volname: str
    path: str
    size: int
    when: float
    elapsed: float = 0.0
    offline_since: float = 0.0
    online_at: float | None = None

    @property
    def total(self) -> int:
        """Bytes of the disks the backup reads."""
        return sum(d.size for d in self.disks if d.included)

    @property
    def seconds(self) -> float:
        """PVE seconds the archive takes to write."""
        return min(max(self.total / READ_RATE, SHORTEST), LONGEST)


def online_after(dump: Dump) -> str:
    """Whole PVE seconds the guest was stopped or suspended, '<1' for less (as vzdump logs it)."""
    if dump.online_at is None:
        dump.online_at = dump.elapsed
    delay = int(dump.online_at - dump.offline_since)
    return str(delay) if delay >= 1 else "<1"


def agent_enabled(vm: Any) -> bool:
    """True if the VM's config enables the guest agent and the agent answers."""
    value = str(vm.config.get("agent", "0")).split(",")[0]
    return value.split("=")[-1] == "1" and vm.agent is not None and vm.status == "running"


class DumpMixin(DemoBase):
    """Mixin of DemoPve: the per-guest part of a vzdump job."""

    async def _dump_wait(self, dump: Dump, secs: float) -> None:
        dump.elapsed += secs
        await self.pause(secs)

    async def _dump_run(self, job: Job, dump: Dump, log: Log) -> None:
        self._dump_describe(dump, log)
        if dump.kind == "qemu":
            await self._dump_qemu(job, dump, log)
        else:
            await self._dump_lxc(job, dump, log)

    def _dump_describe(self, dump: Dump, log: Log) -> None:
        if dump.kind == "qemu":
            log(f"INFO: VM Name: {dump.guest.name}")
            for d in dump.disks:
                verb, tail = ("include", "") if d.included else ("exclude", " (backup=no)")
                log(f"INFO: {verb} disk '{d.key}' '{d.volume}' {format_size(d.size)}{tail}")
            return
        log(f"INFO: CT Name: {dump.guest.name}")
        for d in dump.disks:
            if d.included:
                log(f"INFO: including mount point {d.key} ('{d.mountpoint}') in backup")
            else:
                log(f"INFO: excluding volume mount point {d.key} ('{d.mountpoint}') from backup (disabled)")

    async def _dump_qemu(self, job: Job, dump: Dump, log: Log) -> None:
        vm, mode = dump.guest, dump.mode
        log(f"INFO: backup mode: {mode}")
        log("INFO: ionice priority: 7")
        dump.offline_since = dump.elapsed
        if mode == "stop" and dump.running:
            log("INFO: stopping virtual guest")
            await self._dump_wait(dump, vm.shutdown_secs or 8)
            vm.status = vm.qmpstatus = "stopped"
        elif mode == "suspend":
            log("INFO: suspending guest")
            vm.qmpstatus = "paused"
        log(f"INFO: creating vzdump archive '{dump.path}'")
        self._dump_vma_start(dump, log)
        await self._dump_progress(dump, log)
        if not dump.running:
            log("INFO: stopping kvm after backup task")
        self._dump_save(job, dump, log)
        if dump.running and mode != "snapshot":
            log(f"INFO: guest is online again after {online_after(dump)} seconds")

    def _dump_vma_start(self, dump: Dump, log: Log) -> None:
        """The backup job starts inside QEMU; a guest that was running goes on at once."""
        vm = dump.guest
        freeze = dump.mode == "snapshot" and agent_enabled(vm)
        if vm.status != "running":
            log("INFO: starting kvm to execute backup task")
        if freeze:
            log("INFO: issuing guest-agent 'fs-freeze' command")
        log(f"INFO: started backup task '{uuid.uuid4()}'")
        if freeze:
            log("INFO: issuing guest-agent 'fs-thaw' command")
        if dump.running:
            dump.online_at = dump.elapsed
            after = f" after {online_after(dump)} seconds" if dump.mode == "stop" else ""
            log("INFO: resuming VM again" + after)
            self._dump_online(vm, restarted=dump.mode == "stop")

    async def _dump_lxc(self, job: Job, dump: Dump, log: Log) -> None:
        ct = dump.guest
        if dump.mode == "snapshot" and not self._dump_snapshots_ok(dump):
            log("INFO: mode failure - some volumes do not support snapshots")
            log("INFO: trying 'suspend' mode instead")
            dump.mode = "suspend"
        log(f"INFO: backup mode: {dump.mode}")
        log("INFO: ionice priority: 7")
        if dump.mode == "stop" and dump.running:
            log("INFO: stopping virtual guest")
            dump.offline_since = dump.elapsed
            await self._dump_wait(dump, ct.shutdown_secs or 4)
            ct.status, ct.pid = "stopped", None
        elif dump.mode == "suspend":
            await self._dump_rsync(dump, log)
        elif dump.mode == "snapshot":
            log("INFO: create storage snapshot 'vzdump'")
        log(f"INFO: creating vzdump archive '{dump.path}'")
        await self._dump_wait(dump, dump.seconds)
        data = int(dump.total * used_share(dump.vmid))
        rate = iec(data / dump.seconds).replace(" ", "")
        log(f"INFO: Total bytes written: {data} ({iec(data).replace(' ', '')}, {rate}/s)")
        self._dump_save(job, dump, log)
        if dump.mode == "snapshot":
            log("INFO: cleanup temporary 'vzdump' snapshot")
        if dump.mode == "stop" and dump.running:
            log("INFO: restarting vm")
            self._dump_online(ct, restarted=True)
            log(f"INFO: guest is online again after {online_after(dump)} seconds")

    def _dump_snapshots_ok(self, dump: Dump) -> bool:
        """True if every included volume lives on a storage that can snapshot containers."""
        kinds = (self.storages.get(d.volume.split(":")[0], {}).get("type") for d in dump.disks if d.included)
        return all(kind in SNAPSHOT_STORAGE for kind in kinds)

    async def _dump_rsync(self, dump: Dump, log: Log) -> None:
        """Suspend mode of a container: two rsync passes around a short freeze."""
        tmp = f"/var/tmp/vzdumptmp{dump.guest.pid or 1}_{dump.vmid}/"  # noqa: S108 - only a log line
        log(f"INFO: starting first sync /proc/{dump.guest.pid}/root/ to {tmp}")
        await self._dump_wait(dump, dump.seconds / 2)
        log(f"INFO: first sync finished ({int(dump.seconds / 2)} seconds)")
        log("INFO: suspending guest")
        dump.offline_since = dump.elapsed
        log(f"INFO: starting final sync /proc/{dump.guest.pid}/root/ to {tmp}")
        await self._dump_wait(dump, 2)
        log("INFO: final sync finished (2 seconds)")
        log("INFO: resuming guest")
        log(f"INFO: guest is online again after {online_after(dump)} seconds")

    async def _dump_progress(self, dump: Dump, log: Log) -> None:
        """vma's progress lines while it reads the disks, then its summary."""
        total, secs, spent = dump.total, dump.seconds, 0.0
        for share in PROGRESS:
            await self._dump_wait(dump, secs * share - spent)
            spent = secs * share
            read = iec(total * share / spent) if spent else "0 B"
            written = iec(total * share * used_share(dump.vmid) * 0.9 / spent) if spent else "0 B"
            progress = f"({iec(total * share)} of {iec(total)}) in {int(spent)}s"
            log(f"INFO: {int(share * 100):3d}% {progress}, read: {read}/s, write: {written}/s")
        zero = total * (1 - used_share(dump.vmid))
        log(f"INFO: backup is sparse: {iec(zero)} ({int(100 * zero / max(total, 1))}%) total zero data")
        log(f"INFO: transferred {total / GIB:.2f} GiB in {int(secs)} seconds ({iec(total / secs)}/s)")

    def _dump_online(self, guest: Any, restarted: bool) -> None:
        """The guest runs again after a stop or suspend."""
        guest.status = "running"
        if hasattr(guest, "qmpstatus"):
            guest.qmpstatus = "running"
        else:
            guest.pid = guest.pid or next(self._ct_pids)
        if restarted:
            guest.started_at = time.time()

    def _dump_save(self, job: Job, dump: Dump, log: Log) -> None:
        """Put the archive on the storage, then its notes and protection (VZDump::exec_backup_task)."""
        store = self.storages[job.storage]
        if dump.size > store.get("avail", float("inf")):
            raise TaskError(
                "vma_queue_write: write error - No space left on device"
                if dump.kind == "qemu"
                else "tar: -: Cannot write: No space left on device"
            )
        record = backup_record(dump.guest, dump.when, dump.ext, dump.size)
        store.setdefault("volumes", {})[dump.volname] = record
        if "avail" in store:
            store["avail"] -= dump.size
        log(f"INFO: archive file size: {vzdump_size(dump.size)}")
        template = job.params.get("notes-template")
        if template:
            log("INFO: adding notes to backup")
            values = {"guestname": dump.guest.name, "vmid": dump.vmid, "node": job.node}
            values["cluster"] = self.cluster_name
            try:
                record["notes"] = render_notes(str(template), values)
            except ValueError as e:
                log(f"WARN: unable to add notes - {e}")
        if job.params.get("protected"):
            log("INFO: marking backup as protected")
            record["protected"] = True
