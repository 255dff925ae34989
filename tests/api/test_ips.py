"""GET /api/v1/ips and /api/v1/ips/free with a bearer token."""

from __future__ import annotations

import httpx
import pytest

from pvesim.fake import DemoPve
from tests.ip_guests import agent_down_vm


def test_every_address_with_guest_and_source(api: httpx.Client, pve: DemoPve) -> None:
    answer = api.get("/api/v1/ips", params={"limit": 500})
    assert answer.status_code == 200
    body = answer.json()
    assert body["items"] and body["total"] == len(body["items"]) and body["next_cursor"] is None
    first = body["items"][0]
    assert set(first) >= {
        "address",
        "prefix_length",
        "vmid",
        "name",
        "type",
        "status",
        "node",
        "interface",
        "mac",
    }
    ct = next(c for c in pve.cts if c.status == "running" and "ip=10." in c.config["net0"])
    address = ct.config["net0"].split("ip=", 1)[1].split("/", 1)[0]
    (item,) = [i for i in body["items"] if i["address"] == address and i["vmid"] == ct.vmid]
    assert item["type"] == "lxc" and item["status"] == "running" and item["node"] == ct.node
    assert item["source"] == "config: net0, container interfaces" and item["prefix_length"] == 24
    assert item["sources"] == ["config: net0", "container interfaces"] and item["interface"] == "eth0"
    vm = agent_down_vm(pve)
    assert any(n["vmid"] == vm.vmid and n["kind"] == "agent" for n in body["notes"])


def test_prefix_filter_and_its_validation(api: httpx.Client) -> None:
    body = api.get("/api/v1/ips", params={"prefix": "10.0.10.0/24", "limit": 500}).json()
    assert body["items"] and all(i["address"].startswith("10.0.10.") for i in body["items"])
    assert body["total"] == len(body["items"]) < api.get("/api/v1/ips").json()["total"]
    bad = api.get("/api/v1/ips", params={"prefix": "10.0.10.0/99"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "prefix" and "is not a network" in bad.json()["detail"]
    long = api.get("/api/v1/ips", params={"prefix": "1" * 65})
    assert long.status_code == 422 and long.json()["field"] == "prefix"


def test_free_addresses(api: httpx.Client) -> None:
    body = api.get("/api/v1/ips/free", params={"cidr": "10.0.20.0/24", "limit": 5}).json()
    assert body["cidr"] == "10.0.20.0/24" and body["hosts"] == 254
    assert len(body["free"]) == 5 and body["truncated"] is True
    used = {u["address"] for u in body["used"]}
    assert "10.0.20.1" in used and not set(body["free"]) & used
    assert body["free_count"] == 254 - len(used)
    assert any(u["vmid"] for u in body["used"]) and "DHCP" in body["cannot_see"]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({}, "cidr", "Field required"),
        ({"cidr": "10.0.20.0"}, "cidr", "CIDR form"),
        ({"cidr": "fd00::/32"}, "cidr", "larger than a /64"),
        ({"cidr": "10.0.20.0/24", "limit": 0}, "limit", "greater than or equal to 1"),
    ],
)
def test_free_addresses_refuses_bad_input(
    api: httpx.Client, params: dict[str, object], field: str, words: str
) -> None:
    answer = api.get("/api/v1/ips/free", params=params)
    assert answer.status_code == 422
    assert answer.json()["field"] == field and words in answer.json()["detail"]


def test_needs_credentials(client: httpx.Client) -> None:
    assert client.get("/api/v1/ips").status_code == 401
