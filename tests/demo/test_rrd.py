"""DemoPve's rrddata: PVE 9's shape for every node, guest and storage, believable and repeatable."""

from __future__ import annotations

import time
from statistics import mean
from typing import Any

import pytest

from pvesim.fake import DemoPve
from pvesim.rrd import SETUP, backdate
from pvesim.rrd_series import DAY
from tests.demo.conftest import Api, add_pihole, add_web01

GUEST_SIZES = {"maxcpu", "maxmem", "maxdisk", "disk"}
GUEST_USAGE = {"cpu", "mem", "netin", "netout", "diskread", "diskwrite"}
NODE_FIELDS = {
    "loadavg", "maxcpu", "cpu", "iowait", "memtotal", "memused", "swaptotal", "swapused", "roottotal",
    "rootused", "netin", "netout", "memavailable", "arcsize", "pressurecpusome", "pressureiosome",
    "pressureiofull", "pressurememorysome", "pressurememoryfull",
}  # fmt: skip
TIMEFRAMES = ("hour", "day", "week", "month", "year")


def rrd(api: Api, path: str, timeframe: str, cf: str | None = None) -> list[dict[str, Any]]:
    params = {"timeframe": timeframe, **({"cf": cf} if cf else {})}
    data: list[dict[str, Any]] = api.data("GET", f"{path}/rrddata", params=params)
    return data


@pytest.fixture
def cluster(demo_pve: DemoPve) -> DemoPve:
    """web01 (VM 100, running for two days) and pihole (CT 101, stopped), both a year old."""
    demo_pve.add_node("pve2")
    web = add_web01(demo_pve)
    add_pihole(demo_pve, status="stopped")
    backdate([*demo_pve.vms, *demo_pve.cts], time.time() - 400 * DAY)
    web.started_at = time.time() - 2 * DAY
    return demo_pve


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
@pytest.mark.parametrize("cf", ["AVERAGE", "MAX"])
def test_each_timeframe_has_pve9s_step_and_length_ending_at_the_last_whole_step(
    cluster: DemoPve, demo_api: Api, timeframe: str, cf: str
) -> None:
    step, count = SETUP[timeframe]
    for path in ("/nodes/pve1", "/nodes/pve1/qemu/100", "/nodes/pve2/storage/local-lvm"):
        points = rrd(demo_api, path, timeframe, cf)
        times = [p["time"] for p in points]
        assert len(points) == count, path
        assert all(b - a == step for a, b in zip(times, times[1:], strict=False)), path
        assert times[-1] % step == 0 and 0 <= time.time() - times[-1] < 2 * step, path
        assert all(value is not None for p in points for value in p.values()), "absent, never null"


def test_node_points_carry_pve9s_fields(cluster: DemoPve, demo_api: Api) -> None:
    point = rrd(demo_api, "/nodes/pve1", "hour")[-1]
    assert set(point) == NODE_FIELDS | {"time"}
    assert 0 < point["cpu"] < 1 and 0 <= point["iowait"] < 1
    assert point["memused"] < point["memtotal"] and point["rootused"] < point["roottotal"]


def test_a_running_vm_has_usage_and_host_memory_a_stopped_container_only_sizes(
    cluster: DemoPve, demo_api: Api
) -> None:
    vm = rrd(demo_api, "/nodes/pve1/qemu/100", "hour")[-1]
    ct = rrd(demo_api, "/nodes/pve1/lxc/101", "hour")[-1]
    assert GUEST_SIZES | GUEST_USAGE | {"memhost"} <= set(vm)
    assert 0 < vm["cpu"] <= 1 and 0 < vm["mem"] <= vm["maxmem"] == 2048 * 1024**2
    assert set(ct) == GUEST_SIZES | {"time"}, "a stopped guest has no cpu, mem, net or disk IO"
    assert ct["maxdisk"] == 8 * 1024**3


def test_a_guest_has_no_usage_before_its_start_and_a_new_one_no_data_at_all(
    cluster: DemoPve, demo_api: Api
) -> None:
    web = cluster.vm(100)
    web.born, web.started_at = time.time() - 1900, time.time() - 1800
    kinds = [("cpu" in p) + ("maxmem" in p) for p in rrd(demo_api, "/nodes/pve1/qemu/100", "hour")]
    assert kinds == sorted(kinds) and {0, 1, 2} == set(kinds), "nothing, then sizes, then usage"
    add_web01(cluster, vmid=102)
    fresh = rrd(demo_api, "/nodes/pve2/qemu/102", "day")
    assert fresh and all(set(p) == {"time"} for p in fresh)
    assert len(fresh) == SETUP["day"][1] - 1, "PVE drops the newest entry when it holds only its time"


def test_any_node_answers_for_any_guest_and_unknown_ones_are_an_rrd_error(
    cluster: DemoPve, demo_api: Api
) -> None:
    assert rrd(demo_api, "/nodes/pve2/lxc/100", "hour") == rrd(demo_api, "/nodes/pve1/qemu/100", "hour")
    missing = demo_api.request("GET", "/nodes/pve1/qemu/999/rrddata", params={"timeframe": "hour"})
    assert missing.status_code == 500
    assert missing.json()["message"].startswith("RRD error: opening '/var/lib/rrdcached/db/pve-vm-9.0/999'")
    nostore = demo_api.request("GET", "/nodes/pve1/storage/nope/rrddata", params={"timeframe": "hour"})
    assert nostore.status_code == 500 and "pve-storage-9.0/pve1/nope" in nostore.json()["message"]


def test_schema_checks_and_an_offline_node(cluster: DemoPve, demo_api: Api) -> None:
    decade = demo_api.request("GET", "/nodes/pve1/qemu/100/rrddata", params={"timeframe": "decade"})
    assert decade.status_code == 400 and "timeframe" in decade.json()["errors"]
    assert len(rrd(demo_api, "/nodes/pve1", "decade")) == SETUP["decade"][1], "nodes keep ten years"
    cluster.nodes["pve2"]["online"] = False
    offline = demo_api.request("GET", "/nodes/pve2/rrddata", params={"timeframe": "hour"})
    assert offline.status_code == 595


def test_max_is_never_below_average_and_answers_repeat(cluster: DemoPve, demo_api: Api) -> None:
    for timeframe in ("hour", "week"):
        average = rrd(demo_api, "/nodes/pve1/qemu/100", timeframe, "AVERAGE")
        peak = rrd(demo_api, "/nodes/pve1/qemu/100", timeframe, "MAX")
        for a, m in zip(average, peak, strict=True):
            assert a["time"] == m["time"]
            assert all(m[k] >= a[k] for k in GUEST_USAGE if k in a)
        assert rrd(demo_api, "/nodes/pve1/qemu/100", timeframe) == average


def test_days_are_busier_than_nights_and_storage_grows(cluster: DemoPve, demo_api: Api) -> None:
    week = rrd(demo_api, "/nodes/pve1", "week")
    by_hour = {h: mean(p["cpu"] for p in week if (p["time"] % DAY) // 3600 == h) for h in (4, 16)}
    assert by_hour[16] > 1.5 * by_hour[4]
    year = rrd(demo_api, "/nodes/pve1/storage/local-lvm", "year")
    assert year[0]["used"] < year[-1]["used"] <= year[-1]["total"]
