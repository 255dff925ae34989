"""GET /api/v1/{guests/{vmid},nodes/{node},storage/{node}/{storage}}/rrd and GET /api/v1/nodes/{node}."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pvesim.fake import DemoPve
from pvesim.rrd import SETUP
from pvesim.rrd_series import DAY

TIMEFRAMES = ("hour", "day", "week", "month", "year")
GUEST_CHARTS = {"cpu": "percent", "memory": "bytes", "network": "bytes/s", "disk": "bytes/s"}
NODE_CHARTS = {
    "cpu": "percent", "load": "load", "memory": "bytes", "swap": "bytes", "rootfs": "bytes",
    "network": "bytes/s", "iowait": "percent",
}  # fmt: skip
RESOURCES_TTL = 0.6  # the test app caches /cluster/resources for 0.5 s


def rrd_requests(pve: DemoPve, path: str = "") -> int:
    """GET .../rrddata requests the fake has answered (under path, if given)."""
    return sum(1 for m, p, _ in pve.requests if m == "GET" and p.split("?")[0].endswith(f"{path}/rrddata"))


def check_shape(body: dict[str, Any], timeframe: str, cf: str, charts: dict[str, str]) -> None:
    """PVE 9's step and length for the timeframe, ascending times, one value per time, units named."""
    step, count = SETUP[timeframe]
    assert (body["timeframe"], body["cf"], body["step"], body["points"]) == (timeframe, cf, step, count)
    times = body["time"]
    assert len(times) == count and all(b - a == step for a, b in zip(times, times[1:], strict=False))
    assert {c["id"]: c["unit"] for c in body["charts"]} == charts
    for chart in body["charts"]:
        assert all(len(s["values"]) == count for s in chart["series"]), chart["id"]


@pytest.fixture
def busy_vm(pve: DemoPve) -> Iterator[Any]:
    """The first running, non-template VM of the seeded demo."""
    yield next(v for v in pve.vms if v.status == "running" and not v.template)


@pytest.fixture
def new_guests(pve: DemoPve) -> Iterator[dict[str, Any]]:
    """VM 9701 made just now (no history), CT 9702 stopped for a month; removed afterwards."""
    fresh = pve.add_vm(9701, "fresh", node="pve2", status="running", config={"memory": 1024})
    idle = pve.add_ct(9702, "idle", node="pve3", status="stopped", config={"memory": 256})
    idle.born = time.time() - 30 * DAY
    time.sleep(RESOURCES_TTL)
    yield {"fresh": fresh, "idle": idle}
    pve.vms.remove(fresh)
    pve.cts.remove(idle)


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
@pytest.mark.parametrize("cf", ["AVERAGE", "MAX"])
def test_guest_history_for_every_timeframe(api: httpx.Client, busy_vm: Any, timeframe: str, cf: str) -> None:
    answer = api.get(f"/api/v1/guests/{busy_vm.vmid}/rrd", params={"timeframe": timeframe, "cf": cf})
    assert answer.status_code == 200
    body = answer.json()
    check_shape(body, timeframe, cf, GUEST_CHARTS)
    assert body["has_data"] and all(c["has_data"] for c in body["charts"])
    cpu = body["charts"][0]["series"][0]
    assert cpu["field"] == "cpu" and all(v is None or 0 <= v <= 100 for v in cpu["values"])
    memory = {s["field"]: s for s in body["charts"][1]["series"]}
    assert set(memory) == {"mem", "maxmem", "memhost"}, "PVE 9's host view of a VM's memory is shown"
    assert memory["maxmem"]["values"][-1] == int(busy_vm.config["memory"]) * 1024**2


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
def test_node_and_storage_history_for_every_timeframe(api: httpx.Client, timeframe: str) -> None:
    for cf in ("AVERAGE", "MAX"):
        node = api.get("/api/v1/nodes/pve2/rrd", params={"timeframe": timeframe, "cf": cf}).json()
        check_shape(node, timeframe, cf, NODE_CHARTS)
        memory = [s["field"] for s in node["charts"][2]["series"]]
        assert memory == ["memused", "memtotal", "memavailable"], "no ZFS ARC line on a node without ZFS"
        storage = api.get("/api/v1/storage/pve2/local-lvm/rrd", params={"timeframe": timeframe, "cf": cf})
        check_shape(storage.json(), timeframe, cf, {"usage": "bytes"})
        used, total = storage.json()["charts"][0]["series"]
        assert all(
            isinstance(v, int) and v <= t for v, t in zip(used["values"], total["values"], strict=True)
        )


def test_a_guest_made_just_now_has_no_data_and_a_stopped_one_no_cpu(
    api: httpx.Client, new_guests: dict[str, Any]
) -> None:
    for timeframe in ("hour", "day"):
        body = api.get("/api/v1/guests/9701/rrd", params={"timeframe": timeframe}).json()
        assert body["has_data"] is False and body["points"] == SETUP[timeframe][1] - 1
        assert all(v is None for c in body["charts"] for s in c["series"] for v in s["values"])
        assert not any(c["has_data"] for c in body["charts"])
    idle = api.get("/api/v1/guests/9702/rrd").json()
    charts = {c["id"]: c for c in idle["charts"]}
    assert (
        not charts["cpu"]["has_data"] and not charts["network"]["has_data"] and not charts["disk"]["has_data"]
    )
    memory = {s["field"]: s["values"] for s in charts["memory"]["series"]}
    assert set(memory) == {"mem", "maxmem"}, "no host view line for a container"
    assert set(memory["mem"]) == {None} and set(memory["maxmem"]) == {256 * 1024**2}


def test_a_bad_range_is_refused_before_anything_is_asked(
    api: httpx.Client, pve: DemoPve, busy_vm: Any
) -> None:
    before = rrd_requests(pve)
    cases = {
        f"/api/v1/guests/{busy_vm.vmid}/rrd?timeframe=decade": ("timeframe", "'hour', 'day', 'week', 'month' or 'year'"),
        "/api/v1/nodes/pve1/rrd?cf=MIN": ("cf", "'AVERAGE' or 'MAX'"),
        "/api/v1/storage/pve1/local/rrd?timeframe=Hour": ("timeframe", "Input should be"),
    }  # fmt: skip
    for url, (field, words) in cases.items():
        answer = api.get(url)
        assert answer.status_code == 422, url
        assert answer.json()["field"] == field and words in answer.json()["detail"]
    assert rrd_requests(pve) == before


def test_unknown_things_are_404_and_an_offline_node_says_so(api: httpx.Client, pve: DemoPve) -> None:
    assert api.get("/api/v1/guests/99999/rrd").json() == {"detail": "There is no guest 99999."}
    assert api.get("/api/v1/nodes/pve99/rrd").status_code == 404
    assert api.get("/api/v1/storage/pve1/nope/rrd").status_code == 404
    assert api.get("/api/v1/nodes/-bad-/rrd").status_code == 422
    pve.set_node_offline("pve3")
    time.sleep(RESOURCES_TTL)
    before = rrd_requests(pve)
    answer = api.get("/api/v1/nodes/pve3/rrd")
    assert answer.status_code == 503 and "Node pve3 cannot be reached" in answer.json()["detail"]
    assert rrd_requests(pve) == before, "the cluster view already says it is offline"


async def test_50_concurrent_viewers_of_one_guest_cause_one_upstream_call(
    app_server: Any, api: httpx.Client, pve: DemoPve, new_guests: dict[str, Any]
) -> None:
    path = "/nodes/pve3/lxc/9702"
    before = rrd_requests(pve, path)
    headers = {"Authorization": api.headers["Authorization"]}
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=app_server.url, headers=headers, limits=limits, timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.get("/api/v1/guests/9702/rrd", params={"timeframe": "week", "cf": "MAX"})
                for _ in range(50)
            )
        )
    assert {a.status_code for a in answers} == {200}
    assert rrd_requests(pve, path) - before == 1


def test_node_detail(api: httpx.Client, pve: DemoPve) -> None:
    body = api.get("/api/v1/nodes/pve1").json()
    assert body["node"] == "pve1" and body["status"] == "online" and body["ip"] == "192.0.2.11"
    assert body["version"] == "9.1.9" and body["kernel"] == "6.17.2-1-pve" and body["uptime"] > 0
    assert body["cpu"]["model"] == "AMD EPYC 4344P 8-Core" and body["cpu"]["cpus"] == 32
    assert len(body["cpu"]["loadavg"]) == 3 and body["memory"]["total"] > body["memory"]["used"] > 0
    assert body["swap"]["total"] > 0 and body["rootfs"]["total"] > 0
    assert {"local", "local-lvm", "ceph-vm"} <= {s["storage"] for s in body["storage"]}
    mine = [g for g in [*pve.vms, *pve.cts] if g.node == "pve1"]
    assert body["guests"]["vmids"] == sorted(g.vmid for g in mine)
    assert body["guests"]["running"] == sum(g.status == "running" and not g.template for g in mine)
    assert api.get("/api/v1/nodes/pve99").json() == {
        "detail": "There is no node 'pve99'; choose one of: pve1, pve2, pve3."
    }


def test_openapi_describes_the_history_answer(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    guest = schema["paths"]["/api/v1/guests/{vmid}/rrd"]["get"]
    assert guest["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/HistoryOut")
    timeframe = next(p for p in guest["parameters"] if p["name"] == "timeframe")
    assert timeframe["schema"]["enum"] == list(TIMEFRAMES)
    chart = schema["components"]["schemas"]["ChartOut"]["properties"]["unit"]
    assert chart["enum"] == ["percent", "bytes", "bytes/s", "load"]
