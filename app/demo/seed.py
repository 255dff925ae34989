"""seed_cluster: a realistic homelab / small-business inventory in a DemoPve."""

from __future__ import annotations

import random
import time
from typing import Any

from app.demo.catalogue import CT_TEMPLATES, EXTRA_TEMPLATES, ISOS, POOLS
from app.demo.seed_guests import GuestBuilder, plan_guests
from app.demo.seed_history import add_backups, add_snapshots
from pvesim.rrd import backdate
from pvesim.units import GIB

GUESTS_PER_NODE = 500
TIB = 1024 * GIB
STORAGES: dict[str, dict[str, Any]] = {
    "local": {"type": "dir", "path": "/var/lib/vz", "content": "iso,vztmpl,backup"},
    "local-lvm": {"type": "lvmthin", "vgname": "pve", "thinpool": "data", "content": "images,rootdir"},
    "ceph-vm": {"type": "rbd", "pool": "vm-pool", "content": "images,rootdir", "krbd": 0, "shared": 1},
    "nas-backup": {
        "type": "nfs",
        "server": "10.0.0.20",
        "export": "/mnt/tank/pve-backup",
        "path": "/mnt/pve/nas-backup",
        "content": "backup,iso",
        "options": "vers=4.2",
        "prune-backups": "keep-all=1",
        "shared": 1,
    },
    "offsite-backup": {
        "type": "cifs",
        "server": "backup.offsite.example.net",
        "share": "pve",
        "path": "/mnt/pve/offsite-backup",
        "content": "backup",
        "username": "pve-sync",
        "shared": 1,
    },
}
# Share of each storage in use once seeded, and its smallest size: nas-backup is nearly full.
FILL = {
    "local": (0.31, 94 * GIB),
    "local-lvm": (0.58, 1.8 * TIB),
    "ceph-vm": (0.42, 6 * TIB),
    "nas-backup": (0.88, 0),
}
OFFSITE_SIZE = 16 * TIB
# PVE seconds fakepve's container tasks take (its default is none), so the demo shows them running.
CT_SECS = {
    "create": 25,
    "clone": 30,
    "destroy": 6,
    "snapshot": 4,
    "delsnapshot": 5,
    "rollback": 8,
    "template": 6,
    "resize": 3,
    "migrate": 40,
}


def midnight(now: float) -> float:
    """The start of the local day of now."""
    day = time.localtime(now)
    return time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0, 0, 0, -1))


def node_names(guests: int) -> list[str]:
    """pve1..pve3, and one node per 500 guests beyond that (10,000 guests: 20 nodes)."""
    return [f"pve{n}" for n in range(1, max(3, round(guests / GUESTS_PER_NODE)) + 1)]


def seed_cluster(pve: Any, guests: int = 30, rng_seed: int = 7) -> None:
    """Fill pve with nodes, storages, ISOs and templates, guests, pools, snapshots and backups.

    The same rng_seed gives the same inventory on the same day: times count back from today's midnight.
    """
    rng = random.Random(rng_seed)  # noqa: S311 - a repeatable demo inventory, not a secret
    now = time.time()
    today = midnight(now)
    pve.cluster_name = "homelab"
    pve.ct_secs.update(CT_SECS)
    pve.nodes = {name: {"online": True} for name in node_names(guests)}
    pve.storages = {
        name: dict(options, active=1, files=set(), volumes={}) for name, options in STORAGES.items()
    }
    add_media(pve, today)
    builder = GuestBuilder(pve, rng, now, today)
    for plan in plan_guests(guests, list(pve.nodes), rng):
        builder.add(plan)
    backdate([*pve.vms, *pve.cts], today)
    add_pools(pve)
    add_snapshots(pve, today)
    add_backups(pve, now)
    size_storages(pve)


def add_media(pve: Any, today: float) -> None:
    """ISO images and container templates on local (and a couple of ISOs on the NAS)."""
    for n, (name, size) in enumerate(ISOS.items()):
        sid = "nas-backup" if name.startswith(("proxmox", "OPNsense")) else "local"
        pve.storages[sid]["files"].add(name)
        record = {"content": "iso", "format": "iso", "size": size, "ctime": int(today - (40 + 9 * n) * 86400)}
        pve.storages[sid]["volumes"][f"iso/{name}"] = record
    for n, name in enumerate([*CT_TEMPLATES.values(), *EXTRA_TEMPLATES]):
        fmt = {"zst": "tzst", "xz": "txz", "gz": "tgz"}[name.rsplit(".", 1)[1]]
        size = (96 + 31 * n) * 1024**2
        record = {
            "content": "vztmpl",
            "format": fmt,
            "size": size,
            "ctime": int(today - (20 + 5 * n) * 86400),
        }
        pve.storages["local"]["volumes"][f"vztmpl/{name}"] = record


def add_pools(pve: Any) -> None:
    """The pools with their comments (members were added with the guests)."""
    for name, comment in POOLS.items():
        pve.pools.setdefault(name, set())
        pve.pool_info[name] = {"comment": comment, "storage": set()}
    pve.pool_info["infra"]["storage"].add("nas-backup")


def size_storages(pve: Any) -> None:
    """Give each storage a size its contents fill to FILL (fakepve counts 'used' from the volumes)."""
    for sid, store in pve.storages.items():
        used = sum(int(vol.get("size") or 0) for vol in store["volumes"].values())
        share, smallest = FILL.get(sid, (0.0, OFFSITE_SIZE))
        total = max(int(used / share) if share else 0, int(smallest))
        store["total"], store["avail"] = total, total - used
