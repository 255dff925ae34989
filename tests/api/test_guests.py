"""GET /api/v1/guests: the guest list as JSON for scripts, with the page's filters and 422 for bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pvesim.base import set_lock
from pvesim.fake import DemoPve

CACHE = 0.6  # the app caches /cluster/resources for 0.5 s in the tests
FIELDS = {
    "vmid", "name", "type", "node", "status", "lock", "hastate", "cpu", "maxcpu", "mem", "maxmem",
    "disk", "maxdisk", "uptime", "tags", "pool", "template", "node_offline",
}  # fmt: skip


@pytest.fixture
def locked_vm(pve: DemoPve) -> Iterator[Any]:
    """VM 9095, locked by a backup, HA-managed and tagged, removed afterwards."""
    vm = pve.add_vm(9095, "api-locked", node="pve2", status="running", config={"tags": "zz-api;Mixed"})
    set_lock(vm, "backup")
    vm.ha_state = "started"
    time.sleep(CACHE)
    yield vm
    pve.vms.remove(vm)
    time.sleep(CACHE)


def everyone(pve: DemoPve) -> list[Any]:
    """Every VM and container of the fake."""
    return [*pve.vms, *pve.cts]


def test_lists_guests_with_a_bearer_token(api: httpx.Client, pve: DemoPve) -> None:
    time.sleep(CACHE)
    body = api.get("/api/v1/guests", params={"limit": 200}).json()
    assert set(body) == {"items", "total", "next_cursor"}
    assert (body["total"], body["next_cursor"]) == (len(everyone(pve)), None)
    assert [i["vmid"] for i in body["items"]] == sorted(g.vmid for g in everyone(pve))
    assert all(set(item) == FIELDS for item in body["items"])
    web = next(i for i in body["items"] if i["name"] == "web01")
    vm = pve.vm(web["vmid"])
    assert (web["type"], web["node"], web["status"], web["tags"]) == (
        "qemu",
        vm.node,
        vm.status,
        ["prod", "web"],
    )
    assert web["pool"] == vm.pool and web["template"] is False and web["maxcpu"] == int(vm.config["cores"])


def test_lock_ha_and_tags_as_a_list(api: httpx.Client, locked_vm: Any) -> None:
    (item,) = api.get("/api/v1/guests", params={"q": "api-locked"}).json()["items"]
    assert (item["vmid"], item["lock"], item["hastate"], item["tags"]) == (
        9095, "backup", "started", ["zz-api", "Mixed"]
    )  # fmt: skip
    assert api.get("/api/v1/guests", params={"tag": "mixed"}).json()["total"] == 1


def test_filters_sort_and_pages(api: httpx.Client, pve: DemoPve) -> None:
    time.sleep(CACHE)
    on_pve1 = api.get("/api/v1/guests", params={"node": "pve1", "type": "lxc", "limit": 100}).json()
    expected = {c.vmid for c in pve.cts if c.node == "pve1"}
    assert {i["vmid"] for i in on_pve1["items"]} == expected and on_pve1["total"] == len(expected)
    names = [
        i["name"] for i in api.get("/api/v1/guests", params={"sort": "name", "order": "desc"}).json()["items"]
    ]
    assert names[0] >= names[-1]
    first = api.get("/api/v1/guests", params={"limit": 25}).json()
    second = api.get("/api/v1/guests", params={"limit": 25, "cursor": first["next_cursor"]}).json()
    assert second["total"] == len(everyone(pve))
    assert [i["vmid"] for i in second["items"]] == sorted(g.vmid for g in everyone(pve))[25:50]


def test_offline_node_guests_are_unknown(api: httpx.Client, pve: DemoPve) -> None:
    pve.set_node_offline("pve1")
    time.sleep(CACHE)
    items = api.get("/api/v1/guests", params={"node": "pve1", "limit": 200}).json()["items"]
    assert items and all(i["status"] == "unknown" and i["node_offline"] for i in items)


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"status": "sleeping"}, "status: Input should be 'running', 'stopped', 'paused' or 'unknown'"),
        ({"limit": "1000"}, "limit: Input should be less than or equal to 500"),
        ({"order": "up"}, "order: Input should be 'asc' or 'desc'"),
        ({"template": "maybe"}, "template: Input should be 'yes' or 'no'"),
        ({"pool": "a/b"}, "pool: String should match pattern '^[A-Za-z0-9\\-_]+$'"),
    ],
)
def test_bad_parameters_are_422(api: httpx.Client, params: dict[str, str], detail: str) -> None:
    answer = api.get("/api/v1/guests", params=params)
    assert answer.status_code == 422
    assert answer.json()["detail"] == detail


def test_forbidden_upstream_is_403_naming_the_privilege(api: httpx.Client, pve: DemoPve) -> None:
    pve.fail("GET", "/cluster/resources", 403, "Permission check failed (/vms/100, VM.Audit)")
    time.sleep(CACHE)
    answer = api.get("/api/v1/guests")
    assert answer.status_code == 403
    assert "VM.Audit" in answer.json()["detail"]


def test_needs_credentials(client: httpx.Client) -> None:
    assert client.get("/api/v1/guests").status_code == 401


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/guests", {"node": "2"}),
        ("/api/v1/tasks", {"node": "2"}),
        ("/api/v1/ips", {"node": "2"}),
        ("/api/v1/storage", {"node": "2"}),
    ],
)
def test_an_unknown_node_is_422_naming_the_nodes(
    api: httpx.Client, path: str, params: dict[str, str]
) -> None:
    answer = api.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "detail": "There is no node '2'; choose one of: pve1, pve2, pve3.",
        "field": "node",
    }
