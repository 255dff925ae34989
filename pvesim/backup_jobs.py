"""The demo's backup jobs (GET /cluster/backup) and GET /nodes/{node}/vzdump/extractconfig, from its state.

fakepve answers a sample job and no config. The demo's jobs are told by the archives the seed left: a nightly
job to nas-backup for every guest with a nightly archive there, and a weekly one to offsite-backup.
"""

from __future__ import annotations

from typing import Any

from fakepve import PveError

from pvesim.base import DemoBase

# (job id, storage, schedule, comment) of the jobs the seed's archives stand for.
JOBS = (
    ("backup-nightly", "nas-backup", "02:00", "nightly"),
    ("backup-offsite", "offsite-backup", "sat 03:00", "weekly offsite copy"),
)


class BackupJobsMixin(DemoBase):
    """Mixin of DemoPve: backup jobs, and the config kept in a backup archive."""

    def _routes_demo_backup_jobs(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/cluster/backup", self._demo_backup_jobs),
            ("GET", "/nodes/{node}/vzdump/extractconfig", self._demo_extractconfig),
        ]

    async def _demo_backup_jobs(self, values: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """One job per storage the seed's archives are on; `vmid` lists the guests it covers."""
        jobs = []
        for job_id, storage, schedule, comment in JOBS:
            vmids = self._archived_on(storage)
            if vmids:
                jobs.append(
                    {
                        "id": job_id,
                        "type": "vzdump",
                        "enabled": 1,
                        "schedule": schedule,
                        "storage": storage,
                        "vmid": ",".join(str(v) for v in sorted(vmids)),
                        "mode": "snapshot",
                        "compress": "zstd",
                        "comment": comment,
                    }
                )
        return jobs

    def _archived_on(self, storage: str) -> set[int]:
        volumes = self.storages.get(storage, {}).get("volumes", {})
        return {int(v["vmid"]) for v in volumes.values() if v.get("content") == "backup" and v.get("vmid")}

    async def _demo_extractconfig(self, values: dict[str, Any], user: str) -> str:
        """The guest config stored in the archive, as the text of its config file."""
        storage, _, name = str(values["volume"]).partition(":")
        record = self.storages.get(storage, {}).get("volumes", {}).get(name)
        if not record or record.get("content") != "backup":
            raise PveError(500, f"volume '{values['volume']}' does not exist")
        self.require(user, "/storage/" + storage, "Datastore.Audit")
        config = (record.get("guest") or {}).get("config") or {}
        text = "".join(f"{key}: {value}\n" for key, value in sorted(config.items()))
        return text + "".join(self._qmdump_maps(config) if record.get("subtype") == "qemu" else [])

    def _qmdump_maps(self, config: dict[str, Any]) -> list[str]:
        """The '#qmdump#map:scsi0:drive-scsi0:local-lvm:raw:' line vzdump writes for each disk it saved,
        which the restore reads to know the drives it restores (parse_backup_hints)."""
        lines = []
        for key, volume, _props in self._vma_devices(config):
            sid = volume.partition(":")[0] if ":" in volume else ""
            fmt = "qcow2" if volume.endswith(".qcow2") else "raw"
            lines.append(f"#qmdump#map:{key}:drive-{key}:{sid}:{fmt}:\n")
        return lines
