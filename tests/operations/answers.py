"""What the in-memory Proxmox answers: recorded real answers (tests/proxmox/samples, see its INDEX.md), the
guests made of them, and small answers built from PVE's schema where no recording exists (FACTS.md quirks kept:
integers where PVE sends integers, strings where it sends strings)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from app.operations.base import Guest

SAMPLES = Path(__file__).parents[1] / "proxmox" / "samples"
NODE = "node1"  # a node of the recorded cluster (gp_cluster_resources.json)
JAN_1, JAN_2 = 1767225600, 1767312000  # 2026-01-01 and -02, 00:00 UTC


def recorded(name: str) -> Any:
    """The `data` of a recorded answer (some files hold the whole body, others only its data)."""
    body = json.loads((SAMPLES / name).read_text())
    return body["data"] if isinstance(body, dict) and list(body) == ["data"] else body


def recorded_body(name: str) -> dict[str, Any]:
    """A recorded body as it came (error bodies: `errors` and `data`, no `message` before 2025)."""
    body: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return body


def vmid_taken() -> tuple[int, str, dict[str, Any]]:
    """Status, reason and body of GET /cluster/nextid?vmid=200 when 200 is taken, as recorded (a pre-2025 body:
    the text is only in `errors`)."""
    return 400, "Parameter verification failed.", recorded_body("gp_error_400_nextid_vmid_exists.json")


# ---------------------------------------------------------------------- guests of recorded answers


def guest_of(status: dict[str, Any], kind: str, config: dict[str, Any], node: str = NODE) -> Guest:
    """The catalogue's guest as the pipeline builds it from status/current and the config."""
    guest = Guest.from_status(int(status["vmid"]), node, kind, status)
    guest.config = dict(config)
    return guest


def vm(config: dict[str, Any] | None = None, **status: Any) -> Guest:
    """VM 101 'matt' running (recorded status, PVE 8.0) with the recorded disks of a PVE 6.2 VM: scsi0 10G,
    scsi1 30G, scsi2 10G on storage 'storage', and an empty CD-ROM (ide2). `status` overrides status keys."""
    answer = {**recorded("gp_qemu_status_current_full.json"), **status}
    return guest_of(
        answer, "qemu", {**owned_by(recorded("cp_qemu_config_pve6.2.json"), 103, 101), **(config or {})}
    )


def ct(config: dict[str, Any] | None = None, **status: Any) -> Guest:
    """CT 100 'test-lxc' running and HA-managed (recorded, PVE 6.2) with a recorded config: rootfs 30G on
    'vmstore', mp0 a bind mount, net0 on DHCP."""
    answer = {**recorded("cp_lxc_status_current_pve6.2.json"), **status}
    return guest_of(answer, "lxc", {**owned_by(recorded("gp_lxc_config.json"), 101, 100), **(config or {})})


def owned_by(config: dict[str, Any], recorded_vmid: int, vmid: int) -> dict[str, Any]:
    """A config recorded of guest `recorded_vmid` given to guest `vmid`: its volumes named as that guest's
    (vm-103-disk-0 becomes vm-101-disk-0), for Proxmox destroys only the volumes a guest owns by name."""
    pattern = re.compile(rf"(?<=[:/])(vm|base|subvol|basevol)-{recorded_vmid}-")
    return {k: pattern.sub(rf"\g<1>-{vmid}-", v) if isinstance(v, str) else v for k, v in config.items()}


def stopped(**status: Any) -> dict[str, Any]:
    """Status keys of a stopped guest (PVE leaves out pid and uptime, qmpstatus says stopped)."""
    return {"status": "stopped", "qmpstatus": "stopped", **status}


# ---------------------------------------------------------------------- built from the schema's shape


def storage(node: str, name: str, plugintype: str, content: str, shared: int = 0) -> dict[str, Any]:
    """A storage entry of GET /cluster/resources."""
    return {
        "id": f"storage/{node}/{name}",
        "type": "storage",
        "storage": name,
        "node": node,
        "plugintype": plugintype,
        "status": "available",
        "shared": shared,
        "content": content,
        "disk": 1073741824,
        "maxdisk": 107374182400,
    }


def cluster(*extra: dict[str, Any], offline: tuple[str, ...] = ()) -> list[Any]:
    """The recorded GET /cluster/resources (4 nodes; storages local-zfs, local, cloud-init on each) with more
    entries, and some nodes offline."""
    items = [dict(item) for item in recorded("gp_cluster_resources.json")]
    for item in items:
        if item.get("type") == "node" and item["node"] in offline:
            item.update(status="offline", uptime=0)
    return items + list(extra)


def shared_everywhere(name: str, plugintype: str, content: str) -> list[dict[str, Any]]:
    """A shared storage (NFS, PBS, Ceph) as /cluster/resources lists it: once per node."""
    return [storage(f"node{n}", name, plugintype, content, shared=1) for n in range(1, 5)]


def with_pbs(offline: tuple[str, ...] = ()) -> list[Any]:
    """The recorded cluster with a PBS datastore (shared) every node sees."""
    return cluster(*shared_everywhere("datastore", "pbs", "backup"), offline=offline)


def bridges(*names: str) -> list[dict[str, Any]]:
    """GET /nodes/{node}/network?type=any_bridge."""
    return [
        {
            "iface": name,
            "type": "bridge",
            "method": "static",
            "families": ["inet"],
            "active": 1,
            "autostart": 1,
            "bridge_ports": "eno1",
            "bridge_stp": "off",
            "bridge_fd": "0",
            "priority": 3 + n,
        }
        for n, name in enumerate(names)
    ]


def volume(volid: str, content: str, size: int, **extra: Any) -> dict[str, Any]:
    """An entry of GET /nodes/{node}/storage/{storage}/content (iso, vztmpl or a vzdump backup)."""
    formats = {"iso": "iso", "vztmpl": "tzst", "backup": "vma.zst"}
    return {"volid": volid, "content": content, "format": formats[content], "size": size, **extra}


def qemu_snapshots(*snaps: dict[str, Any], running: int = 1) -> list[dict[str, Any]]:
    """GET .../qemu/{vmid}/snapshot: the snapshots (name, description, snaptime, vmstate 0|1, parent?) and the
    'current' pseudo-entry last."""
    items = [{"description": "", "vmstate": 0, **snap} for snap in snaps]
    current: dict[str, Any] = {
        "name": "current",
        "description": "You are here!",
        "digest": "3c5f2b4e8e1a7d0c9b6a5f4e3d2c1b0a99887766",
        "running": running,
    }
    if snaps:
        current["parent"] = max(snaps, key=lambda s: int(s["snaptime"]))["name"]
    return [*items, current]


def no_snapshots(running: int = 1) -> list[dict[str, Any]]:
    """A guest without snapshots: only the 'current' pseudo-entry."""
    return qemu_snapshots(running=running)


def vm_snapshots() -> list[dict[str, Any]]:
    """VM 101's snapshots: 'base' (JAN_1), then 'before-upgrade' with RAM on top of it (JAN_2)."""
    return qemu_snapshots(
        {"name": "base", "snaptime": JAN_1},
        {
            "name": "before-upgrade",
            "snaptime": JAN_2,
            "parent": "base",
            "vmstate": 1,
            "description": "before apt upgrade",
        },
    )
