"""DemoPve: fakepve plus the state it keeps none of (vzdump backups and jobs, VM disk resize, restore, node
networks, RRD history, VM and HA migration), and fixes (deleting a guest destroys only the volumes it
owns)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from aiohttp import web
from fakepve import FakePve, PveError
from fakepve.server import params

from pvesim.access import AccessMixin
from pvesim.appliances import AppliancesMixin
from pvesim.backup_info import BackupInfoMixin
from pvesim.backup_jobs import BackupJobsMixin
from pvesim.backups import BackupsMixin
from pvesim.clone_checks import CloneChecksMixin
from pvesim.cluster_tasks import ClusterTasksMixin
from pvesim.ct_migrate import CtMigrateMixin
from pvesim.ct_restore import CtRestoreMixin
from pvesim.ct_template import CtTemplateMixin
from pvesim.destroy import OwnedVolumesMixin
from pvesim.ha import HaMixin
from pvesim.index import GuestIndex
from pvesim.journal import JournalMixin
from pvesim.local_content import LocalContentMixin
from pvesim.media import MediaMixin, UploadMixin
from pvesim.migrate import MigrateMixin
from pvesim.node_network import NodeNetworkMixin
from pvesim.node_usage import NodeUsageMixin
from pvesim.pending import PendingDigestMixin
from pvesim.qm_config import QemuConfigMixin
from pvesim.resize import ResizeMixin
from pvesim.resources import ResourcesMixin
from pvesim.restore import QemuRestoreMixin
from pvesim.rrd import RrdMixin
from pvesim.stalls import StallMixin
from pvesim.units import GIB, config_bytes
from pvesim.windows_machine import WindowsMachineMixin

# Drives that can boot (not efidisk0 or tpmstate0), and the size option of a drive.
DISK_BUSES = ("scsi", "virtio", "sata", "ide")
SIZE_OPTION = re.compile(r"(?:^|,)size=([^,]+)")
# How long the demo's nodes have been up when the fake starts.
NODE_UPTIME = 23 * 86400 + 4 * 3600


class DemoPve(
    PendingDigestMixin,
    QemuConfigMixin,
    AccessMixin,
    OwnedVolumesMixin,
    CloneChecksMixin,
    WindowsMachineMixin,
    RrdMixin,
    StallMixin,
    ClusterTasksMixin,
    BackupInfoMixin,
    BackupJobsMixin,
    NodeNetworkMixin,
    JournalMixin,
    AppliancesMixin,
    MediaMixin,
    UploadMixin,
    LocalContentMixin,
    NodeUsageMixin,
    ResourcesMixin,
    CtMigrateMixin,
    CtRestoreMixin,
    CtTemplateMixin,
    QemuRestoreMixin,
    ResizeMixin,
    MigrateMixin,
    HaMixin,
    BackupsMixin,
    GuestIndex,
    FakePve,
):
    """A FakePve for the demo and the tests: serve it like FakePve, seed it with app.demo.seed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The arguments are FakePve's: user, password, host, port."""
        # vzdump's per-node global lock (see BackupsMixin._vzdump_lock).
        self.vzdump_locks: dict[str, Any] = {}
        # Storage use while one /cluster/resources answer is built: {storage: (total, used, avail)}.
        self.space_memo: dict[str, tuple[int, int, int]] | None = None
        super().__init__(*args, **kwargs)
        self.booted = time.time() - NODE_UPTIME
        # The served certificate's SHA-256 (AB:CD:...), shown in /nodes once known.
        self.ssl_fingerprint: str | None = None
        # HA's groups and rules by name, each guest's group, and the nodes in maintenance mode with the
        # guests HA moved off them (vmid: that node), which come back once it is disabled.
        self.ha_groups: dict[str, dict[str, Any]] = {}
        self.ha_rules: dict[str, dict[str, Any]] = {}
        self.ha_group_of: dict[int, str] = {}
        self.ha_maintenance: dict[str, dict[int, str]] = {}

    async def _agent_call(self, match: Any, values: dict[str, Any]) -> Any:
        """PVE's agent_available checks first (fakepve says 'agent is not running' for all three cases)."""
        vm = self.find(values["node"], values["vmid"])
        if "agent" not in vm.config:
            raise PveError(500, "No QEMU guest agent configured")
        if vm.status != "running":
            raise PveError(500, f"VM {vm.vmid} is not running")
        return await super()._agent_call(match, values)

    @staticmethod
    def _vm_maxdisk(vm: Any) -> int:
        """maxdisk is the boot disk's size (bootdisk_size), not the first disk key's (a 4M efidisk0, say).

        It is read for every VM of every /cluster/resources answer, so it only looks at the few keys it needs.
        """
        cfg = vm.config
        boot = str(cfg.get("boot", ""))
        order = boot.partition("order=")[2].split(";") if "order=" in boot else []
        size = disk_size(cfg, order)
        if size is None:
            size = disk_size(cfg, sorted(k for k in cfg if k.startswith(DISK_BUSES) and k[-1].isdigit()))
        return size or 0

    def _item(self, name: str, volname: str, vol: dict[str, Any]) -> dict[str, Any]:
        """A content list entry as PVE gives it: backups carry subtype, notes only their first line,
        and protected only when set."""
        item: dict[str, Any] = super()._item(name, volname, vol)
        if vol.get("subtype"):
            item["subtype"] = vol["subtype"]
        if "notes" in item:
            item["notes"] = str(item["notes"]).split("\n")[0]
        if not item.get("protected"):
            item.pop("protected", None)
        return item

    async def _task_log(self, request: web.Request) -> web.Response:
        """GET .../tasks/{upid}/log as PVE answers: limit=0 is all lines, 'total' beside the data,
        and an empty log reads 'no content' (fakepve answers nothing for limit=0 and no total)."""
        p = self._verify(request, await params(request))
        lines = [{"n": n + 1, "t": t} for n, t in enumerate(self._get_task(request)["log"] or ["no content"])]
        start, limit = p.get("start", 0), p.get("limit", 50)
        chosen = lines[start:] if limit == 0 else lines[start : start + limit]
        return web.json_response({"data": chosen, "total": len(lines)})

    async def _nodes(self, request: web.Request) -> web.Response:
        """GET /nodes, with the served certificate's fingerprint once known (fakepve shows a made-up one)."""
        response: web.Response = await super()._nodes(request)
        if not self.ssl_fingerprint or response.text is None:
            return response
        nodes = json.loads(response.text)["data"]
        for node in nodes:
            node["ssl_fingerprint"] = self.ssl_fingerprint
        return web.json_response({"data": nodes})

    def _node_stats(self, online: bool) -> dict[str, Any]:
        """Usage of a node that can hold the demo's guests (fakepve's is a 4-core, 8 GiB box)."""
        if not online:
            return {}
        return {
            "cpu": 0.087,
            "maxcpu": 32,
            "mem": int(71.4 * GIB),
            "maxmem": int(125.6 * GIB),
            "disk": int(11.2 * GIB),
            "maxdisk": int(93.9 * GIB),
            "uptime": int(time.time() - self.booted),
        }

    def _storage_resource(self, node: str, name: str) -> dict[str, Any] | None:
        """The /cluster/resources entry of a storage, with its real use (fakepve says 0 of 100 GiB)."""
        item: dict[str, Any] | None = super()._storage_resource(node, name)
        if item is not None and item["status"] == "available":
            memo = self.space_memo if self.space_memo is not None else {}
            if name not in memo:
                memo[name] = self._space(self.storages[name])
            total, used, _avail = memo[name]
            item.update(disk=used, maxdisk=total)
        return item


def disk_size(cfg: dict[str, Any], keys: list[str]) -> int | None:
    """Bytes of the first of keys that is a disk (not a CD-ROM), or None if none is."""
    for key in keys:
        value = str(cfg.get(key) or "")
        if key.startswith(DISK_BUSES) and value and "media=cdrom" not in value:
            found = SIZE_OPTION.search(value)
            return config_bytes(found.group(1)) if found else 0
    return None
