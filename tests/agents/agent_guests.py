"""Guests 9700-9799 for the agent tests, made in the shared fake and removed afterwards, and the helper
(`pve.sh`) formats computed from the fake's own API, as the shell helper's jq computed them."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pvesim.fake import DemoPve
from tests.backup_guests import FakeApi

MY_RANGE = range(9700, 9800)
GIB = 1024**3
BREAKS = re.compile(r"[\t\r\n]+")


def add_vm(pve: DemoPve, vmid: int, name: str, *, status: str = "stopped", **config: Any) -> Any:
    """A VM on pve1 with a 4 GiB disk on local-lvm (and whatever config is given, e.g. ipconfig0)."""
    assert vmid in MY_RANGE
    disk = f"vm-{vmid}-disk-0"
    pve.storages["local-lvm"]["volumes"][disk] = {
        "content": "images",
        "format": "raw",
        "size": 4 * GIB,
        "vmid": vmid,
        "ctime": int(time.time()),
    }
    base = {"scsi0": f"local-lvm:{disk},size=4G", "memory": 1024, "cores": 1, "boot": "order=scsi0"}
    vm = pve.add_vm(vmid, name, node="pve1", status=status, config={**base, **config})
    vm.qmpstatus = status
    return vm


def add_ct(pve: DemoPve, vmid: int, name: str, *, status: str = "stopped", **config: Any) -> Any:
    """A container on pve2 (and whatever config is given, e.g. net0 with ip=)."""
    assert vmid in MY_RANGE
    return pve.add_ct(vmid, node="pve2", status=status, config={"hostname": name, "memory": 512, **config})


def remove_guests(pve: DemoPve) -> None:
    """Take every guest and volume of 9700-9799 out of the fake again."""
    for guests in (pve.vms, pve.cts):
        for guest in [g for g in guests if g.vmid in MY_RANGE]:
            guests.remove(guest)
    for store in pve.storages.values():
        volumes = store.get("volumes", {})
        for name in [n for n, vol in volumes.items() if vol.get("vmid") in MY_RANGE]:
            del volumes[name]


def guests_made(pve: DemoPve) -> Iterator[None]:
    """For a fixture: a clean 9700-9799 range before and after the test."""
    remove_guests(pve)
    try:
        yield
    finally:
        remove_guests(pve)


def jq_round(value: float) -> int:
    """jq's round: half away from zero."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# What `pve.sh` printed, from the same Proxmox answers its jq read.


def helper_status(fake: FakeApi) -> list[str]:
    """pve.sh status."""
    lines = ["=== Nodes ==="]
    for n in fake.data("GET", "/cluster/resources", params={"type": "node"}):
        text = f"{n['node']}: {n['status']}"
        if n.get("cpu") is not None:
            text += f" | CPU: {jq_round(n['cpu'] * 100)}%"
        if n.get("maxmem") is not None:
            text += f" | Mem: {jq_round(n['mem'] / n['maxmem'] * 100)}%"
        lines.append(text)
    return lines


def helper_vms(fake: FakeApi, node: str | None = None, kind: str = "qemu") -> list[str]:
    """pve.sh vms [NODE] and lxc NODE (sorted by VMID: Proxmox promises no order)."""
    if node is None:
        guests = fake.data("GET", "/cluster/resources", params={"type": "vm"})
        return [f"{g['vmid']}\t{g['name']}\t{g['status']}\t{g['node']}" for g in sorted_by_vmid(guests)]
    guests = fake.data("GET", f"/nodes/{node}/{kind}")
    return [f"{g['vmid']}\t{g['name']}\t{g['status']}" for g in sorted_by_vmid(guests)]


def sorted_by_vmid(guests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By numeric VMID (PVE lists LXC vmids as strings)."""
    return sorted(guests, key=lambda g: int(g["vmid"]))


def helper_snapshots(fake: FakeApi, node: str, kind: str, vmid: int) -> list[str]:
    """pve.sh snapshots VMID; a line break in a description became a space (one line per item), and no
    description an empty field."""
    snaps = fake.data("GET", f"/nodes/{node}/{kind}/{vmid}/snapshot")
    return [s["name"] + "\t" + BREAKS.sub(" ", s.get("description") or "") for s in snaps]


def helper_storage(fake: FakeApi, node: str) -> list[str]:
    """pve.sh storage NODE (by storage name)."""
    lines = []
    for s in sorted(fake.data("GET", f"/nodes/{node}/storage"), key=lambda s: s["storage"]):
        used = f"{jq_round(s['used'] / s['total'] * 100)}%" if s.get("total") else "N/A"
        lines.append(f"{s['storage']}\t{s['type']}\t{used}")
    return lines


def helper_tasks(fake: FakeApi, node: str) -> list[str]:
    """pve.sh tasks NODE: the ten newest of the node's task archive, which has only the finished tasks (the
    fake lists the running ones too, where PVE does so only with source=active or all)."""
    listed = fake.data("GET", f"/nodes/{node}/tasks", params={"limit": 500})
    tasks = [t for t in listed if t.get("status") not in (None, "RUNNING")][:10]
    stamp = lambda t: datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return [f"{stamp(t['starttime'])}\t{t['type']}\t{t.get('status')}" for t in tasks]


IP_OPTION = re.compile(r"(?:^|,)ip=([0-9.]+)(?:/\d+)?(?:,|$)")


def helper_ips(fake: FakeApi, prefix: str = "") -> list[str]:
    """pve.sh ips [PREFIX]: ip= of net0-3 (containers) and ipconfig0-3 (VMs), IPv4, numeric order."""
    rows = []
    for g in fake.data("GET", "/cluster/resources", params={"type": "vm"}):
        config = fake.data("GET", f"/nodes/{g['node']}/{g['type']}/{g['vmid']}/config")
        keys = [f"ipconfig{n}" for n in range(4)] if g["type"] == "qemu" else [f"net{n}" for n in range(4)]
        for key in keys:
            found = IP_OPTION.search(str(config.get(key, "")))
            if found and found.group(1).startswith(prefix):
                rows.append((found.group(1), int(g["vmid"]), g["type"], g["status"], g["name"]))
    rows.sort(key=lambda r: (int(ipaddress.IPv4Address(r[0])), r[1]))
    return ["\t".join(str(v) for v in row) for row in rows]
