"""POST /nodes/{node}/vzdump: a vzdump job per request that backs this node's guests up as PVE does."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import AsyncIterator
from typing import Any

from fakepve import PveError, TaskError
from fakepve.routing import param_error, split_list

from pvesim.archive import archive_ext, archive_size, backup_volname, guest_disks
from pvesim.base import Log, guest_kind, locked_message, set_lock, stamp
from pvesim.dumps import Dump, DumpMixin, Job
from pvesim.units import hms

# Parameters PVE refuses from anyone but root@pam (an API token of root@pam included).
ROOT_ONLY = ("prune-backups", "tmpdir", "dumpdir", "script", "bwlimit", "ionice")
HA_STOP = (
    "Cannot execute a backup with stop mode on a HA managed and enabled Service. "
    "Use snapshot mode or disable the Service."
)


def check_vzdump_params(v: dict[str, Any], user: str) -> None:
    """The synchronous checks of API2::VZDump and VZDump::verify_vzdump_parameters (400s)."""
    if v.get("stdout"):
        raise param_error(stdout="option is only allowed on the command line interface.")
    for key in ROOT_ONLY:
        if v.get(key) is not None and user != "root@pam":
            raise param_error(**{key: "Only root may set this option."})
    for key in ("all", "exclude", "pool"):
        if v.get(key) and v.get("vmid"):
            raise param_error(**{key: "option conflicts with option 'vmid'"})
    if "\n" in str(v.get("notes-template") or ""):
        raise param_error(**{"notes-template": "contains a line feed"})
    if not (v.get("all") or v.get("exclude") is not None or v.get("stop") or v.get("pool") or v.get("vmid")):
        raise param_error(vmid="property is missing")


def command_line(v: dict[str, Any]) -> str:
    """The 'vzdump 100 101 --mode snapshot ...' line the job log opens with (VZDump::Common::command_line)."""
    words = ["vzdump", *split_list(v.get("vmid"))]
    for key, value in v.items():
        if key != "vmid":
            words += [f"--{key}", shlex.quote(str(value))]
    return " ".join(words)


class BackupsMixin(DumpMixin):
    """Mixin of DemoPve: vzdump jobs that lock the guest, log like PVE and leave a backup volume."""

    def _routes_demo_vzdump(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/nodes/{node}/vzdump", self._demo_vzdump)]

    async def _demo_vzdump(self, v: dict[str, Any], user: str) -> str:
        check_vzdump_params(v, user)
        every = bool(v.get("all")) or (v.get("exclude") is not None and not v.get("pool"))
        vmids, skipped = self._vzdump_selection(v, every)
        # PVE's "silent exit": none of the guests live on this node.
        if not vmids and not every:
            return "OK"
        if v.get("storage"):
            self.require(user, "/storage/" + v["storage"], "Datastore.AllocateSpace")
        job = Job(dict(v), user, v["node"], v.get("storage") or "local", vmids, skipped, every)
        tid = vmids[0] if len(vmids) == 1 else ""

        async def work(log: Log) -> None:
            await self._vzdump_job(job, log)

        return await self.run_task(job.node, "vzdump", tid, user, work)

    def _vzdump_selection(self, v: dict[str, Any], every: bool) -> tuple[list[int], list[int]]:
        """(this node's vmids, other nodes' vmids); ids of no guest count as local and fail in the job."""
        if v.get("pool"):
            ids: list[Any] = list(self.pools.get(v["pool"], ()))
        elif v.get("vmid"):
            ids = split_list(v["vmid"])
        elif every:
            excluded = {int(x) for x in split_list(v.get("exclude"))}
            ids = [g.vmid for g in [*self.vms, *self.cts] if g.vmid not in excluded]
        else:
            ids = []
        local: list[int] = []
        skipped: list[int] = []
        for vmid in sorted({int(x) for x in ids} - {0}):
            guest = self.guest(vmid)
            (local if guest is None or guest.node == v["node"] else skipped).append(vmid)
        return local, skipped

    async def _vzdump_job(self, job: Job, log: Log) -> None:
        self._vzdump_storage(job)
        async with self._vzdump_lock(job.node, log):
            log(f"INFO: starting new backup job: {command_line(job.params)}")
            if job.skipped:
                log("INFO: skip external VMs: " + ", ".join(str(x) for x in job.skipped))
            failed = 0
            for vmid in self._vzdump_permitted(job):
                failed += not await self._vzdump_guest(job, vmid, log)
            log("INFO: Backup job finished " + ("with errors" if failed else "successfully"))
        if failed:
            raise TaskError("job errors")

    def _vzdump_storage(self, job: Job) -> None:
        """VZDump->new: the target must be active here and take backups; its errors end the task."""
        sid, errors = job.storage, []
        try:
            self._active_store(sid, job.node)
        except PveError as e:
            errors.append(f"could not activate storage '{sid}': {e.message}")
        store = self.storages.get(sid)
        info = f"could not get storage information for '{sid}': "
        if store is None:
            errors.append(info + f"storage '{sid}' does not exist")
        elif "backup" not in split_list(store.get("content")):
            errors.append(info + f"can't use storage '{sid}' for backups - wrong content type")
        if errors:
            # The worker dies with the errors joined by newlines; the task status turns them into spaces.
            raise TaskError(" ".join(errors))

    @contextlib.asynccontextmanager
    async def _vzdump_lock(self, node: str, log: Log) -> AsyncIterator[None]:
        """vzdump's global lock: one job at a time per node, the others wait."""
        lock = self.vzdump_locks.setdefault(node, asyncio.Lock())
        waiting = lock.locked()
        if waiting:
            log("INFO: trying to get global lock - waiting...")
        async with lock:
            if waiting:
                log("INFO: got global lock")
            yield

    def _vzdump_permitted(self, job: Job) -> list[int]:
        """The guests the user may back up; with all=1 the others are skipped, else the job fails."""
        out = []
        for vmid in job.vmids:
            if self.guest(vmid) is not None and not self.allowed(job.user, f"/vms/{vmid}", "VM.Backup"):
                if job.every:
                    continue
                raise TaskError(f"Permission check failed (/vms/{vmid}, VM.Backup)")
            out.append(vmid)
        return out

    async def _vzdump_guest(self, job: Job, vmid: int, log: Log) -> bool:
        """One guest's backup; a failure is logged and the job goes on (exec_backup_task)."""
        try:
            dump = self._dump_plan(job, vmid)
            log(f"INFO: Starting Backup of VM {vmid} ({dump.kind})")
            log(f"INFO: Backup started at {stamp()}")
            log("INFO: status = " + ("running" if dump.running else "stopped"))
            if dump.guest.lock:
                raise TaskError(locked_message(dump.guest))
            set_lock(dump.guest, "backup")
            try:
                await self._dump_run(job, dump, log)
            finally:
                if dump.guest.lock == "backup":
                    set_lock(dump.guest, None)
        except TaskError as e:
            log(f"ERROR: Backup of VM {vmid} failed - {e}")
            log(f"INFO: Failed at {stamp()}")
            return False
        log(f"INFO: Finished Backup of VM {vmid} ({hms(dump.elapsed)})")
        log(f"INFO: Backup finished at {stamp()}")
        return True

    def _dump_plan(self, job: Job, vmid: int) -> Dump:
        guest = self.guest(vmid)
        if guest is None:
            raise TaskError(f"unable to find VM '{vmid}'")
        running = guest.status == "running"
        mode = (job.params.get("mode") or "snapshot") if running else "stop"
        if mode == "stop" and guest.ha_state == "started":
            raise TaskError(HA_STOP)
        kind, when = guest_kind(guest), time.time()
        ext = archive_ext(kind, job.params.get("compress"))
        volname = backup_volname(kind, vmid, when, ext)
        disks = guest_disks(guest)
        path = self._volume_path(job.storage, volname, "backup")
        size = archive_size(vmid, disks, ext)
        return Dump(vmid, guest, kind, mode, running, disks, ext, volname, path, size, when)
