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


def test_filters_by_guest_node_and_status(api: httpx.Client, pve: DemoPve) -> None:
    everything = api.get("/api/v1/ips", params={"limit": 500}).json()["items"]
    ct = next(c for c in pve.cts if c.status == "running" and "ip=10." in c.config["net0"])
    one = api.get("/api/v1/ips", params={"vmid": ct.vmid, "notes_limit": 500}).json()
    assert one["items"] == [i for i in everything if i["vmid"] == ct.vmid] != []
    assert all(n["vmid"] in (ct.vmid, None) for n in one["notes"])
    running = api.get("/api/v1/ips", params={"node": "pve2", "status": "running", "limit": 500}).json()
    expected = [i for i in everything if i["node"] == "pve2" and i["status"] == "running"]
    assert running["items"] == expected and running["total"] == len(expected) > 0
    assert api.get("/api/v1/ips", params={"status": "asleep"}).status_code == 422


def test_notes_are_those_about_what_was_asked_and_bounded(api: httpx.Client) -> None:
    whole = api.get("/api/v1/ips", params={"limit": 500, "notes_limit": 500}).json()
    assert whole["notes_total"] == len(whole["notes"]) > 1 and whole["unknown_guests"] > 0
    subnet = api.get(
        "/api/v1/ips", params={"prefix": "10.0.10.0/24", "limit": 500, "notes_limit": 500}
    ).json()
    listed = {i["vmid"] for i in subnet["items"]}
    assert 0 < subnet["notes_total"] < whole["notes_total"]
    assert all(n["vmid"] in listed for n in subnet["notes"] if n["vmid"] is not None)
    one = api.get("/api/v1/ips", params={"notes_limit": 1}).json()
    assert one["notes"] == whole["notes"][:1] and one["notes_total"] == whole["notes_total"]


def test_free_addresses_page_by_cursor_and_bound_what_is_used(api: httpx.Client) -> None:
    whole = api.get("/api/v1/ips/free", params={"cidr": "10.0.20.0/24", "limit": 4096}).json()
    assert whole["next_cursor"] is None and len(whole["free"]) == whole["free_count"]
    pages, cursor = [], None
    while True:
        params = {"cidr": "10.0.20.0/24", "limit": 100} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/ips/free", params=params).json()
        pages.append(page["free"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(pages) == 3 and [a for p in pages for a in p] == whole["free"]
    short = api.get("/api/v1/ips/free", params={"cidr": "10.0.20.0/24", "used_limit": 2, "notes_limit": 0})
    assert short.json()["used"] == whole["used"][:2] and short.json()["used_count"] == len(whole["used"]) > 2
    assert short.json()["notes"] == [] and short.json()["notes_total"] == whole["notes_total"]
