"""GET /cluster/resources keeps each guest's entry between answers: every answer must still be what fakepve
builds from the current state (with each node's own usage), whichever way that state changed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fakepve import FakePve
from fakepve.server import USER

from app.demo.seed import seed_cluster
from pvesim.fake import DemoPve
from pvesim.node_usage import FIELDS
from tests.fakepve_thread import PveApi as Api
from tests.fakepve_thread import ServedFake


class _Request(dict[str, Any]):
    """What fakepve's _resources reads of a request: the query and the authenticated user."""

    def __init__(self, kind: str | None) -> None:
        super().__init__({USER: "root@pam"})
        self.query = {"type": kind} if kind else {}


async def _built_anew(pve: DemoPve, kind: str | None) -> Any:
    """fakepve's own answer from the current state, with each online node's own usage written over it."""
    response = await FakePve._resources(pve, _Request(kind))
    data = json.loads(response.text)["data"]
    for item in data:
        if item["type"] == "node" and item["status"] == "online":
            item.update((k, pve._node_usage(item["node"])[k]) for k in FIELDS)
    return data


def _without_clock(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k != "uptime"} for item in items]


def _assert_current(
    pve: DemoPve, served: ServedFake, api: Api, kind: str | None = None
) -> list[dict[str, Any]]:
    served_items = api.data("GET", "/cluster/resources", params={"type": kind} if kind else {})
    expected = served.call(_built_anew(pve, kind))
    assert _without_clock(served_items) == _without_clock(expected)
    for got, want in zip(served_items, expected, strict=True):
        assert abs(got.get("uptime", 0) - want.get("uptime", 0)) <= 1, got["id"]
    return list(served_items)


@pytest.fixture
def seeded(demo_pve: DemoPve) -> DemoPve:
    seed_cluster(demo_pve, guests=40)
    return demo_pve


def test_every_answer_is_what_the_current_state_builds(
    seeded: DemoPve, demo_served: ServedFake, demo_api: Api
) -> None:
    first = _assert_current(seeded, demo_served, demo_api)
    running = next(r for r in first if r["type"] == "qemu" and r["status"] == "running")
    stopped_ct = next(
        r for r in first if r["type"] == "lxc" and r["status"] == "stopped" and not r["template"]
    )
    vm = seeded.find(running["node"], running["vmid"])

    # Changes through the API, each read back alone: a stop, a tag on a VM, a started container.
    node, vmid = running["node"], running["vmid"]
    demo_api.wait(demo_api.data("POST", f"/nodes/{node}/qemu/{vmid}/status/stop"))
    _assert_current(seeded, demo_served, demo_api)
    demo_api.data("PUT", f"/nodes/{node}/qemu/{vmid}/config", data={"tags": "kept;new"})
    _assert_current(seeded, demo_served, demo_api)
    demo_api.wait(demo_api.data("POST", f"/nodes/{stopped_ct['node']}/lxc/{stopped_ct['vmid']}/status/start"))
    after_api = _assert_current(seeded, demo_served, demo_api)
    # And changes nobody asked for over HTTP, as the tests and the demo's side door make them.
    vm.config["memory"] = 65536
    _assert_current(seeded, demo_served, demo_api)
    vm.stats["cpu"] = 0.5
    _assert_current(seeded, demo_served, demo_api)
    vm.lock = "backup"
    _assert_current(seeded, demo_served, demo_api)
    seeded.nodes[sorted(seeded.nodes)[-1]]["online"] = False
    after_direct = _assert_current(seeded, demo_served, demo_api)

    entry = next(r for r in after_api if r["id"] == running["id"])
    assert entry["status"] == "stopped" and entry["tags"] == "kept;new"
    assert next(r for r in after_api if r["id"] == stopped_ct["id"])["status"] == "running"
    changed = next(r for r in after_direct if r["id"] == running["id"])
    assert changed["maxmem"] == 65536 * 1024**2 and changed["lock"] == "backup" and changed["cpu"] == 0.5
    assert any(r["status"] == "unknown" for r in after_direct if r["type"] in ("qemu", "lxc"))


@pytest.mark.parametrize("kind", ["vm", "node", "storage"])
def test_a_type_answers_only_its_entries(
    seeded: DemoPve, demo_served: ServedFake, demo_api: Api, kind: str
) -> None:
    _assert_current(seeded, demo_served, demo_api)
    items = _assert_current(seeded, demo_served, demo_api, kind)

    assert items and {r["type"] for r in items} <= ({"qemu", "lxc"} if kind == "vm" else {kind})


def test_a_deleted_guest_leaves_the_answer(seeded: DemoPve, demo_served: ServedFake, demo_api: Api) -> None:
    before = _assert_current(seeded, demo_served, demo_api)
    gone = next(r for r in before if r["type"] == "qemu" and r["status"] == "stopped" and not r["template"])

    demo_api.wait(demo_api.data("DELETE", f"/nodes/{gone['node']}/qemu/{gone['vmid']}"))

    assert gone["id"] not in {r["id"] for r in _assert_current(seeded, demo_served, demo_api)}
