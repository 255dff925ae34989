"""vzdump archives: file names, what a backup records of its guest, its size, and the notes template."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from fakepve.lxc import mount_type, parse_mount
from fakepve.qemu import drives_of

from pvesim.base import guest_kind
from pvesim.units import config_bytes

# compress parameter -> file extension (VZDump::compressor_info).
COMPRESS_EXT = {"0": "", "1": ".lzo", "lzo": ".lzo", "gzip": ".gz", "zstd": ".zst"}
# Archive size per byte of guest data, by compression.
RATIO = {"": 1.0, ".lzo": 0.62, ".gz": 0.5, ".zst": 0.44}
NOTES_VARS = ("cluster", "guestname", "node", "vmid")


@dataclass
class Disk:
    """A disk or mount point of a guest as vzdump sees it."""

    key: str
    volume: str
    size: int
    included: bool
    mountpoint: str = ""


def archive_ext(kind: str, compress: str | None) -> str:
    """'.vma.zst' for a zstd VM backup, '.tar' for an uncompressed container one."""
    return (".vma" if kind == "qemu" else ".tar") + COMPRESS_EXT.get(str(compress or "0"), "")


def backup_volname(kind: str, vmid: int, when: float, ext: str) -> str:
    """backup/vzdump-qemu-100-2024_05_01-02_00_03.vma.zst (local time, as vzdump names it)."""
    return f"backup/vzdump-{kind}-{vmid}-{time.strftime('%Y_%m_%d-%H_%M_%S', time.localtime(when))}{ext}"


def guest_disks(guest: Any) -> list[Disk]:
    """The guest's disks (VM) or volume mount points (CT), and whether a backup includes them."""
    if guest_kind(guest) == "qemu":
        return [
            Disk(key, volume, config_bytes(props.get("size")), str(props.get("backup", "1")) != "0")
            for key, volume, props in drives_of(guest.config, skip_cdrom=True)
        ]
    out = []
    for key in sorted(guest.config, key=lambda k: (k != "rootfs", k)):
        if key != "rootfs" and not re.fullmatch(r"mp\d+", key):
            continue
        mount = parse_mount(guest.config[key])
        if mount_type(mount.get("volume", "")) != "volume":
            continue
        included = key == "rootfs" or str(mount.get("backup", "0")) in ("1", "yes", "true")
        where = "/" if key == "rootfs" else mount.get("mp", "")
        out.append(Disk(key, mount["volume"], config_bytes(mount.get("size")), included, where))
    return out


def used_share(vmid: int) -> float:
    """The share of a guest's disks that holds data (0.18-0.66), steady for a vmid."""
    return 0.18 + (vmid * 37 % 49) / 100


def archive_size(vmid: int, disks: list[Disk], ext: str) -> int:
    """A plausible archive size: the data on the included disks, compressed."""
    data = sum(d.size for d in disks if d.included) * used_share(vmid)
    # ext is '.vma' or '.tar' plus the compression's own extension.
    return max(int(data * RATIO[ext[4:]]), 4 * 1024**2)


def archive_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config a backup keeps: no lock, parent, pending or unused disks (VZDump::QemuServer::assemble)."""
    skip = ("lock", "parent")
    return {k: v for k, v in config.items() if k not in skip and not re.fullmatch(r"unused\d+", k)}


def backup_record(guest: Any, when: float, ext: str, size: int, notes: str | None = None) -> dict[str, Any]:
    """A volume entry for pve.storages[...]['volumes'], with what a restore needs under 'guest'."""
    record: dict[str, Any] = {
        "content": "backup",
        "format": ext.lstrip("."),
        "size": size,
        "ctime": int(when),
        "vmid": guest.vmid,
        "subtype": guest_kind(guest),
        "guest": {
            "name": guest.name,
            "config": archive_config(guest.config),
            "agent": getattr(guest, "agent", None),
        },
    }
    if notes:
        record["notes"] = notes
    return record


def render_notes(template: str, values: dict[str, Any]) -> str:
    """The notes-template with its escapes and {{guestname}} {{vmid}} {{node}} {{cluster}} filled in."""

    def unescape(found: re.Match[str]) -> str:
        char = found.group(1)
        if char not in ("\\", "n"):
            raise ValueError(f"unexpected escape character '{char}'")
        return "\n" if char == "n" else "\\"

    text = re.sub(r"\\(.)", unescape, template)
    text = re.sub(r"\{\{(" + "|".join(NOTES_VARS) + r")\}\}", lambda m: str(values[m.group(1)]), text)
    left = re.search(r"\{\{(\S+)\}\}", text)
    if left:
        raise ValueError(f"unexpected variable name '{left.group(1)}'")
    return text
