"""History charts of guests, nodes and storages from Proxmox's RRD data: which charts, their units, and the numbers.

The fields and their grouping follow Proxmox's own summary pages (pve-manager www/manager6): CPU and IO delay
are fractions there and percent here; memory and sizes are bytes; network and disk traffic bytes per second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.proxmox.client import PveClient
from app.proxmox.errors import PveUnavailable
from app.proxmox.models import ClusterResources
from app.proxmox.paths import GuestPath, NodePath, StoragePath
from app.proxmox.rrd import CONSOLIDATIONS, TIMEFRAMES, Consolidation, RrdSeries, Timeframe
from app.services.cluster.storage import StorageService, check_node
from app.services.errors import Invalid, NotFound

Unit = Literal["percent", "bytes", "bytes/s", "load"]
DEFAULT_TIMEFRAME: Timeframe = "hour"
DEFAULT_CF: Consolidation = "AVERAGE"
# Fields PVE keeps as a fraction of 1, shown in percent.
FRACTIONS = frozenset({"cpu", "iowait"})
# Decimals kept per unit: the charts cannot show more, and the answers stay small.
DECIMALS: dict[str, int] = {"percent": 2, "bytes": 0, "bytes/s": 1, "load": 2}


@dataclass(frozen=True)
class SeriesSpec:
    """One line of a chart; an optional one (PVE 9 only, or ZFS only) is left out when it is never above 0."""

    field: str
    label: str
    optional: bool = False


@dataclass(frozen=True)
class ChartSpec:
    """One chart: its id (stable, for the page and the API), title, unit and lines."""

    id: str
    title: str
    unit: Unit
    series: tuple[SeriesSpec, ...]


GUEST_CHARTS = (
    ChartSpec("cpu", "CPU usage", "percent", (SeriesSpec("cpu", "CPU"),)),
    ChartSpec(
        "memory",
        "Memory",
        "bytes",
        (SeriesSpec("mem", "Used"), SeriesSpec("maxmem", "Total"), SeriesSpec("memhost", "Host view", True)),
    ),
    ChartSpec(
        "network", "Network traffic", "bytes/s", (SeriesSpec("netin", "In"), SeriesSpec("netout", "Out"))
    ),
    ChartSpec(
        "disk", "Disk IO", "bytes/s", (SeriesSpec("diskread", "Read"), SeriesSpec("diskwrite", "Write"))
    ),
)
NODE_CHARTS = (
    ChartSpec("cpu", "CPU usage", "percent", (SeriesSpec("cpu", "CPU"),)),
    ChartSpec("load", "Server load", "load", (SeriesSpec("loadavg", "Load average (1 min)"),)),
    ChartSpec(
        "memory",
        "Memory",
        "bytes",
        (
            SeriesSpec("memused", "Used"),
            SeriesSpec("memtotal", "Total"),
            SeriesSpec("memavailable", "Available", True),
            SeriesSpec("arcsize", "ZFS ARC", True),
        ),
    ),
    ChartSpec("swap", "Swap", "bytes", (SeriesSpec("swapused", "Used"), SeriesSpec("swaptotal", "Total"))),
    ChartSpec(
        "rootfs", "Root disk", "bytes", (SeriesSpec("rootused", "Used"), SeriesSpec("roottotal", "Total"))
    ),
    ChartSpec(
        "network", "Network traffic", "bytes/s", (SeriesSpec("netin", "In"), SeriesSpec("netout", "Out"))
    ),
    ChartSpec("iowait", "IO delay", "percent", (SeriesSpec("iowait", "IO delay"),)),
)
STORAGE_CHARTS = (
    ChartSpec("usage", "Usage", "bytes", (SeriesSpec("used", "Used"), SeriesSpec("total", "Total"))),
)


@dataclass(frozen=True)
class Series:
    """A chart line: the field PVE calls it, its label, one value per time (None where Proxmox has none)."""

    field: str
    label: str
    values: list[float | None]


@dataclass(frozen=True)
class Chart:
    """A chart with its lines."""

    id: str
    title: str
    unit: Unit
    series: list[Series]

    @property
    def has_data(self) -> bool:
        """True if any line has a value."""
        return any(v is not None for s in self.series for v in s.values)


@dataclass(frozen=True)
class History:
    """The charts of one guest, node or storage over a timeframe."""

    timeframe: str
    cf: str
    step: int
    times: list[int]
    charts: list[Chart]

    @property
    def has_data(self) -> bool:
        """True if any chart has a value."""
        return any(chart.has_data for chart in self.charts)


def check_range(timeframe: str, cf: str) -> None:
    """Invalid (422) unless PVE knows the timeframe and consolidation function; checked before any upstream call."""
    if timeframe not in TIMEFRAMES:
        raise Invalid(
            f"timeframe must be one of {', '.join(TIMEFRAMES)}, not '{timeframe}'", field="timeframe"
        )
    if cf not in CONSOLIDATIONS:
        raise Invalid(f"cf must be one of {', '.join(CONSOLIDATIONS)}, not '{cf}'", field="cf")


def build_history(specs: tuple[ChartSpec, ...], rrd: RrdSeries, timeframe: str, cf: str) -> History:
    """The charts of specs from the series, in their units."""
    charts = [
        Chart(
            spec.id,
            spec.title,
            spec.unit,
            [_series(s, spec.unit, rrd) for s in spec.series if _shown(s, rrd)],
        )
        for spec in specs
    ]
    return History(timeframe, cf, rrd.step, list(rrd.times), charts)


def _shown(spec: SeriesSpec, rrd: RrdSeries) -> bool:
    return not spec.optional or any(v for v in rrd.values(spec.field))


def _series(spec: SeriesSpec, unit: Unit, rrd: RrdSeries) -> Series:
    scale = 100.0 if spec.field in FRACTIONS else 1.0
    places = DECIMALS[unit]
    values = [None if v is None else _round(v * scale, places) for v in rrd.values(spec.field)]
    return Series(spec.field, spec.label, values)


def _round(value: float, places: int) -> float:
    # Whole bytes print as integers in the JSON.
    return round(value, places) if places else round(value)


class HistoryService:
    """Reads RRD history through the client's per-chart cache (one upstream call per step, shared by viewers)."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve

    async def guest(self, vmid: int, timeframe: str, cf: str) -> History:
        """The guest's CPU, memory, network and disk IO; NotFound if Proxmox has no such guest."""
        check_range(timeframe, cf)
        resources = await self.pve.resources_holding(vmid)
        guest = resources.guest(vmid)
        if guest is None:
            raise NotFound(f"There is no guest {vmid}.")
        _require_online(resources, guest.node)
        path = GuestPath(guest.node, guest.type, vmid).base
        return build_history(GUEST_CHARTS, await self.pve.rrddata(path, timeframe, cf), timeframe, cf)

    async def node(self, node: str, timeframe: str, cf: str) -> History:
        """The node's CPU, load, memory, swap, root disk, network and IO delay; NotFound for an unknown node."""
        check_range(timeframe, cf)
        check_node(node)
        resources = await self.pve.cluster_resources()
        if not any(n.node == node for n in resources.nodes):
            raise NotFound(f"There is no node '{node}'.")
        _require_online(resources, node)
        rrd = await self.pve.rrddata(NodePath(node).base, timeframe, cf)
        return build_history(NODE_CHARTS, rrd, timeframe, cf)

    async def storage(self, node: str, storage: str, timeframe: str, cf: str) -> History:
        """A storage's usage as seen from a node (a shared one from any online node it is on)."""
        check_range(timeframe, cf)
        row = await StorageService(self.pve).storage(node, storage)
        target = row.reach(node)
        if target not in row.online_nodes:
            raise PveUnavailable("/cluster/resources lists it as offline", node=target)
        path = StoragePath(target, row.storage).base
        return build_history(STORAGE_CHARTS, await self.pve.rrddata(path, timeframe, cf), timeframe, cf)


def _require_online(resources: ClusterResources, node: str) -> None:
    """PveUnavailable without asking, when the cluster already says the node is offline."""
    if any(n.node == node and not n.online for n in resources.nodes):
        raise PveUnavailable("/cluster/resources lists it as offline", node=node)
