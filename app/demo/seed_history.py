"""The demo's past: snapshot chains, and the vzdump backups the nightly job and a few people left behind."""

from __future__ import annotations

import time
from typing import Any

from fakepve.qemu import SNAPSHOT_SKIP

from pvesim.archive import archive_ext, archive_size, backup_record, backup_volname, guest_disks
from pvesim.base import guest_kind

DAY = 86400
CHAIN = (
    ("clean-install", "Fresh install, before any configuration"),
    ("pre-upgrade", "Before apt full-upgrade"),
    ("before-migration", "Known good state before the move to Ceph"),
)
MANUAL_NOTES = (
    "Before upgrade to Debian 13\nTaken by alice before the maintenance window",
    "Before reinstalling the application",
    "Known good - keep until the migration is verified",
)


def add_snapshots(pve: Any, today: float) -> None:
    """Chains of one to three snapshots on every twelfth VM and fifteenth container; one keeps RAM state."""
    vms = [vm for vm in pve.vms if not vm.template]
    with_state = False
    for n, vm in enumerate(vms[1::12] or vms[:1]):
        state = not with_state and vm.status == "running"
        with_state = with_state or state
        add_chain(pve, vm, today, 1 + n % 3, state)
    for n, ct in enumerate(pve.cts[2::15]):
        add_chain(pve, ct, today, 1 + n % 2, False)


def add_chain(pve: Any, guest: Any, today: float, depth: int, state: bool) -> None:
    """Snapshots taken weeks apart, each the parent of the next; the config's parent is the last."""
    parent = None
    for n, (name, description) in enumerate(CHAIN[:depth]):
        skip = SNAPSHOT_SKIP if guest_kind(guest) == "qemu" else ("lock", "description")
        snap = {k: x for k, x in guest.config.items() if k not in skip and not k.startswith("unused")}
        snap.update(snaptime=int(today - (depth - n) * 9 * DAY + 3600 * (9 + n)), description=description)
        if parent:
            snap["parent"] = parent
        if state and n == depth - 1:
            sid = str(guest.config["scsi0"]).split(":")[0]
            snap.update(vmstate=f"{sid}:vm-{guest.vmid}-state-{name}", runningmachine="pc-i440fx-9.0+pve0")
            size = int(guest.config.get("memory", 2048)) * 1024**2 * 2
            record = {
                "content": "images",
                "format": "raw",
                "size": size,
                "vmid": guest.vmid,
                "ctime": snap["snaptime"],
            }
            pve.storages[sid]["volumes"][f"vm-{guest.vmid}-state-{name}"] = record
        guest.snapshots[name] = snap
        parent = name
    guest.config["parent"] = parent


def nightly_anchor(now: float) -> float:
    """Today's 02:00 local time, or yesterday's if the night's job cannot have run yet."""
    today = time.localtime(now)
    anchor = time.mktime((today.tm_year, today.tm_mon, today.tm_mday, 2, 0, 0, 0, 0, -1))
    return anchor if anchor + 3 * 3600 < now else anchor - DAY


def add_backups(pve: Any, now: float) -> None:
    """Nightly backups (1-3 nights) of most guests on nas-backup, some manual ones on local, two offsite,
    notes from the job's {{guestname}} template, and one protected archive."""
    anchor = nightly_anchor(now)
    guests = sorted((g for g in [*pve.vms, *pve.cts] if not g.template), key=lambda g: g.vmid)
    protected = False
    for i, guest in enumerate(guests):
        if i % 7 == 4:
            continue  # never backed up: the gap a dashboard should show
        disks = guest_disks(guest)
        compress = "gzip" if i % 11 == 0 else "zstd"
        for night in range(1 + i % 3):
            when = anchor - night * DAY + (i * 7) % 3000
            record = store_backup(pve, "nas-backup", guest, disks, when, compress, guest.name)
            if not protected and night == i % 3:
                record.update(protected=True, notes="Known good - keep until the migration is verified")
                protected = True
        if i % 9 == 1:
            when = anchor - (3 + i % 20) * DAY + 13 * 3600 + i % 3600
            store_backup(pve, "local", guest, disks, when, "zstd", MANUAL_NOTES[i % 2])
        if i < 2:
            store_backup(pve, "offsite-backup", guest, disks, anchor - 6 * DAY, "zstd", "weekly offsite copy")


def store_backup(pve: Any, sid: str, guest: Any, disks: Any, when: float, compress: str, notes: str) -> Any:
    """Put one archive of the guest on the storage; returns its volume record."""
    kind = guest_kind(guest)
    ext = archive_ext(kind, compress)
    record = backup_record(guest, when, ext, archive_size(guest.vmid, disks, ext), notes)
    pve.storages[sid]["volumes"][backup_volname(kind, guest.vmid, when, ext)] = record
    return record
