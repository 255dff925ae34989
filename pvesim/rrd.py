"""GET .../rrddata of nodes, guests and storages in PVE 9's shape, with believable, repeatable history.

What PVE does, and this copies (pve-cluster PVE::RRD::create_rrd_data, pmxcfs status.c, pvestatd):
- timeframe -> (seconds per point, points) below; the points end at the last whole step before now;
- an entry is {time, field: value, ...}; a field RRD has no value for is left out, not null; the newest
  entry is dropped when it holds nothing but its time;
- a stopped guest keeps maxcpu, maxmem, maxdisk and disk but has no cpu, mem, net, disk IO or pressure;
- RRD files are cluster-wide and keyed by vmid alone: any node answers for any guest, qemu or lxc path alike;
  a guest, node or storage with no file at all is an 'RRD error'.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from fakepve import FakeVm, PveError

from pvesim.base import DemoBase
from pvesim.rrd_series import (
    DAY,
    GuestShape,
    NodeShape,
    Sampler,
    guest_point,
    node_point,
    storage_point,
)
from pvesim.units import GIB

# pve-cluster PVE::RRD, PVE 9 files: timeframe -> (resolution in seconds, number of points).
SETUP = {
    "hour": (60, 60),
    "day": (60, 1440),
    "week": (1800, 336),
    "month": (1800, 1440),
    "year": (21600, 1440),
    "decade": (604800, 570),
}
# A restart: how long a running guest was down before its current start.
RESTART_GAP = 180
SWAP = 8 * GIB

Point = Callable[[Sampler, int], dict[str, float]]


def rrd_points(timeframe: str, cf: str | None, key: int, point: Point, now: float) -> list[dict[str, Any]]:
    """The entries PVE returns for a timeframe: one per step, oldest first, time-only ones where no data was."""
    step, count = SETUP[timeframe]
    end = step * int(now // step)
    sampler = Sampler(key, step, (cf or "AVERAGE") == "MAX")
    out = [{"time": t, **point(sampler, t)} for t in range(end - step * (count - 1), end + 1, step)]
    if out and len(out[-1]) == 1:
        out.pop()
    return out


def stable_key(text: str) -> int:
    """A key for a name that is the same in every process (hash() of a str is not)."""
    return zlib.crc32(text.encode())


def runs_of(guest: Any, now: float) -> tuple[tuple[float, float | None], ...]:
    """When the guest ran: from its birth until a short restart before its current start, then since."""
    born = float(getattr(guest, "born", None) or now)
    started = getattr(guest, "started_at", None)
    if guest.status != "running" or started is None:
        return ()
    started = max(float(started), born)
    if started - RESTART_GAP > born:
        return ((born, started - RESTART_GAP), (started, None))
    return ((started, None),)


class RrdMixin(DemoBase):
    """Mixin of DemoPve: rrddata for every node, guest and storage (fakepve answers these with no data)."""

    def _routes_demo_rrd(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/nodes/{node}/rrddata", self._demo_node_rrd),
            ("GET", "/nodes/{node}/qemu/{vmid}/rrddata", self._demo_guest_rrd),
            ("GET", "/nodes/{node}/lxc/{vmid}/rrddata", self._demo_guest_rrd),
            ("GET", "/nodes/{node}/storage/{storage}/rrddata", self._demo_storage_rrd),
        ]

    async def _demo_node_rrd(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        stats = self._node_usage(v["node"])
        shape = NodeShape(
            int(stats["maxcpu"]),
            stats["cpu"],
            stats["maxmem"],
            stats["mem"],
            stats["maxdisk"],
            stats["disk"],
            SWAP,
        )
        return rrd_points(
            v["timeframe"],
            v.get("cf"),
            stable_key(v["node"]),
            lambda s, t: node_point(shape, s, t),
            time.time(),
        )

    async def _demo_guest_rrd(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        guest = self._guest_of(int(v["vmid"]))
        if guest is None:
            raise rrd_missing(f"pve-vm-9.0/{v['vmid']}")
        now = time.time()
        shape = self._demo_guest_shape(guest, now)
        born = float(getattr(guest, "born", None) or now)

        def point(s: Sampler, t: int) -> dict[str, float]:
            # Before the guest existed its RRD file had no rows: PVE answers time-only entries.
            return guest_point(shape, s, t) if t >= born else {}

        return rrd_points(v["timeframe"], v.get("cf"), shape.vmid, point, now)

    def _demo_guest_shape(self, guest: Any, now: float) -> GuestShape:
        if isinstance(guest, FakeVm):
            usage = self._vm_usage(guest)
            cpus, maxmem, maxdisk = usage["maxcpu"], usage["maxmem"], usage["maxdisk"]
        else:
            cpus, maxmem, maxdisk = float(self._cpus(guest)), self._maxmem(guest), self._maxdisk(guest)
        return GuestShape(
            guest.vmid, isinstance(guest, FakeVm), float(cpus), maxmem, maxdisk, runs_of(guest, now)
        )

    async def _demo_storage_rrd(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        node, name = v["node"], v["storage"]
        store = self.storages.get(name)
        if store is None or not self._storage_enabled(name, node):
            raise rrd_missing(f"pve-storage-9.0/{node}/{name}")
        now = time.time()
        total, used, _avail = self._space(store)
        active = bool(store.get("active", 1))
        # A shared storage is one and the same on every node; a local one is each node's own disk.
        key = stable_key(name if store.get("shared") else f"{node}/{name}")

        def point(s: Sampler, t: int) -> dict[str, float]:
            # pvestatd writes nothing for a storage it cannot activate.
            return storage_point(total, used, s, t, now) if active else {}

        return rrd_points(v["timeframe"], v.get("cf"), key, point, now)


def rrd_missing(name: str) -> PveError:
    """What PVE says when the RRD file does not exist (librrd's rrd_open error)."""
    return PveError(500, f"RRD error: opening '/var/lib/rrdcached/db/{name}': No such file or directory")


def backdate(guests: Iterable[Any], today: float) -> None:
    """Give seeded guests a past: a VM since its config's meta ctime, a container 30 to 700 days back."""
    for guest in guests:
        meta = str(getattr(guest, "config", {}).get("meta", ""))
        ctime = meta.partition("ctime=")[2].split(",")[0]
        guest.born = int(ctime) if ctime.isdigit() else today - (30 + guest.vmid * 7919 % 670) * DAY
