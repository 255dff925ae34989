"""rrddata: PVE 8 and PVE 9 answers as columns, and the per-chart cache (single-flight, fresh for one step)."""

from __future__ import annotations

import asyncio
from typing import Any

from app.proxmox import PveClient
from app.proxmox.cache import SingleFlightMap
from app.proxmox.rrd import parse_rrddata
from tests.proxmox.conftest import Canned, FakeClock, RawPve, RecordingObserver

GIB = 1024**3
PVE8_NODE_FIELDS = (
    "loadavg", "maxcpu", "cpu", "iowait", "memtotal", "memused", "swaptotal", "swapused", "roottotal",
    "rootused", "netin", "netout",
)  # fmt: skip


def pve8_node_day(start: int = 1_700_000_000) -> list[dict[str, Any]]:
    """A PVE 8 (pve2-node) day: 70 points 30 minutes apart, none for two of them (the node was down)."""
    out: list[dict[str, Any]] = []
    for n in range(70):
        entry: dict[str, Any] = {"time": start + n * 1800}
        if n not in (10, 11):
            entry.update({name: 0.25 + n / 1000 for name in PVE8_NODE_FIELDS})
            entry.update(memtotal=64 * GIB, memused=20 * GIB + n)
        out.append(entry)
    return out


def test_a_pve8_day_keeps_its_30_minute_step_and_its_gaps() -> None:
    series = parse_rrddata(pve8_node_day(), "day")
    assert len(series) == 70 and series.step == 1800
    used = series.values("memused")
    assert used[9] == 20 * GIB + 9 and used[10] is None and used[11] is None
    assert not series.has("memavailable") and series.values("memavailable") == [None] * 70
    assert series.has("loadavg")


def test_pve9_fields_old_names_mixed_steps_and_junk() -> None:
    old = [{"time": 1_700_000_000 + n * 1800, "cpu": 0.1, "memfree": 5.0} for n in range(3)]
    new = [
        {"time": 1_700_005_400 + n * 60, "cpu": "0.2", "memhost": 7, "memfree": 1, "memavailable": 2}
        for n in range(3)
    ]
    junk = [
        {"cpu": 1},
        "text",
        {"time": "soon", "cpu": 1},
        {"time": 1_700_005_580, "cpu": "n/a", "mem": None},
    ]
    series = parse_rrddata(list(reversed(old + new)) + junk, "hour")
    assert list(series.times) == sorted(e["time"] for e in old + new) + [1_700_005_580]
    assert series.step == 60, "the newest part of a migrated answer is PVE 9's"
    assert series.values("cpu") == [0.1, 0.1, 0.1, 0.2, 0.2, 0.2, None]
    assert series.values("memavailable")[:6] == [5.0, 5.0, 5.0, 2.0, 2.0, 2.0], "memfree only stands in"
    assert series.values("memhost")[3:6] == [7.0, 7.0, 7.0] and "mem" not in series.fields


def test_an_empty_or_odd_answer_gives_no_points() -> None:
    for data in (None, [], {"time": 1}, [{"time": None}]):
        series = parse_rrddata(data, "week")
        assert len(series) == 0 and series.step == 1800 and series.values("cpu") == []


async def test_50_viewers_of_one_chart_share_one_request_fresh_for_one_step(
    raw_pve: RawPve, observer: RecordingObserver
) -> None:
    minute = [{"time": 1_700_000_000 + n * 60, "cpu": 0.5} for n in range(60)]
    raw_pve.answers = [Canned.json(200, "OK", {"data": minute})]
    clock = FakeClock()
    async with PveClient(raw_pve.connection(), observer, clock=clock) as client:
        results = await asyncio.gather(*(client.rrddata("/nodes/pve1", "hour", "AVERAGE") for _ in range(50)))
        assert all(r is results[0] for r in results) and len(results[0]) == 60
        assert observer.lookups.count(("rrddata", False)) == 1
        assert observer.lookups.count(("rrddata", True)) == 49
        clock.now += 59
        assert await client.rrddata("/nodes/pve1", "hour", "AVERAGE") is results[0]
        clock.now += 2
        assert await client.rrddata("/nodes/pve1", "hour", "AVERAGE") is not results[0]
        await client.rrddata("/nodes/pve1", "hour", "MAX")
        await client.rrddata("/nodes/pve1", "day", "AVERAGE")
    paths = [raw.split(b" ")[1].decode() for raw in raw_pve.wait_for(4)]
    assert paths == [
        "/api2/json/nodes/pve1/rrddata?timeframe=hour&cf=AVERAGE",
        "/api2/json/nodes/pve1/rrddata?timeframe=hour&cf=AVERAGE",
        "/api2/json/nodes/pve1/rrddata?timeframe=hour&cf=MAX",
        "/api2/json/nodes/pve1/rrddata?timeframe=day&cf=AVERAGE",
    ]


async def test_a_coarse_series_stays_cached_for_its_own_step(raw_pve: RawPve) -> None:
    raw_pve.answers = [Canned.json(200, "OK", {"data": pve8_node_day()})]
    clock = FakeClock()
    async with PveClient(raw_pve.connection(), clock=clock) as client:
        first = await client.rrddata("/nodes/pve1", "day", "AVERAGE")
        clock.now += 1799
        assert await client.rrddata("/nodes/pve1", "day", "AVERAGE") is first
        clock.now += 2
        assert await client.rrddata("/nodes/pve1", "day", "AVERAGE") is not first


async def test_the_map_keeps_at_most_its_limit_dropping_stale_then_oldest() -> None:
    clock = FakeClock()
    cache: SingleFlightMap[str, str] = SingleFlightMap(
        lambda value: 10.0 if value == "short" else 100.0, 3, clock
    )

    async def value(text: str) -> str:
        return text

    for key in ("short", "a", "b"):
        await cache.get(key, lambda key=key: value(key))
    clock.now += 11  # 'short' is stale now
    await cache.get("c", lambda: value("c"))
    assert len(cache) == 3
    fetched: list[bool] = []
    await cache.get("a", lambda: value("a"), fetched.append)
    assert fetched == [True], "a fresh entry survives while a stale one can go"
    await cache.get("d", lambda: value("d"))
    fetched.clear()
    await cache.get("a", lambda: value("a"), fetched.append)
    assert len(cache) == 3 and fetched == [False], "when nothing is stale, the oldest goes"
