"""A new guest's static address that another guest holds: refused (409) naming the holder, created once the
caller confirms with allow_ip_reuse; what Proxmox changed a moment ago counts, and what Proxgate created is
known at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.api.test_actions import bearer, wait_for_event
from tests.backup_guests import FakeApi

CACHE = 0.6  # the test app caches /cluster/resources for 0.5 s

MINE = range(9480, 9490)


@pytest.fixture
def operator(settings: Settings, pve: DemoPve) -> Iterator[dict[str, str]]:
    """An operator's token headers; every guest of 9480-9489 is removed afterwards."""
    yield bearer(settings, "operator")
    for guests in (pve.vms, pve.cts):
        for guest in [g for g in guests if g.vmid in MINE]:
            guests.remove(guest)


def container(pve: DemoPve, vmid: int, ip: str, **more: Any) -> dict[str, Any]:
    """The body of a create-ct with this static address."""
    name = next(n for n, v in pve.storages["local"]["volumes"].items() if v.get("content") == "vztmpl")
    return {
        "node": "pve1",
        "vmid": vmid,
        "hostname": f"reuse-{vmid}",
        "ostemplate": f"local:{name}",
        "rootfs_storage": "local-lvm",
        "ip": ip,
        "password": "s3cret-pass",
        **more,
    }


def static_ct(pve: DemoPve) -> Any:
    """A running container of the demo with a static IPv4 address."""
    return next(c for c in pve.cts if c.status == "running" and "ip=10.0.20." in c.config["net0"])


def address_of(net: str) -> str:
    """The IPv4 address of a net0 value."""
    return net.split("ip=", 1)[1].split("/", 1)[0]


def test_create_with_an_address_in_use_waits_for_the_confirmation(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    holder = static_ct(pve)
    address = address_of(holder.config["net0"])
    refused = client.post(
        "/api/v1/actions/create-ct", json=container(pve, 9480, f"{address}/24"), headers=operator
    )
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["field"] == "ip" and body["confirm"] == "allow_ip_reuse"
    assert body["detail"].startswith(f"{address} is used by {holder.vmid} ({holder.name}, running).")
    assert "allow_ip_reuse" in body["detail"]
    assert not [c for c in pve.cts if c.vmid == 9480], "nothing is sent to Proxmox"
    confirmed = container(pve, 9480, f"{address}/24", allow_ip_reuse=True)
    answer = client.post("/api/v1/actions/create-ct", json=confirmed, headers=operator)
    assert answer.status_code == 200, answer.text
    assert f"{address} is used by {holder.vmid}" in answer.json()["warnings"][0]
    assert wait_for_event(client, operator, answer.json()["upid"])["outcome"] == "succeeded"
    assert f"ip={address}/24" in pve.ct(9480).config["net0"]


def test_an_address_given_in_proxmox_a_moment_ago_counts(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve, fake_api: FakeApi
) -> None:
    holder = static_ct(pve)
    before = holder.config["net0"]
    subnet = client.get("/api/v1/ips/free", params={"cidr": "10.0.20.0/24"}, headers=operator).json()
    taken = subnet["free"][0]
    # Someone gives the container a second address in the Proxmox UI, right after the index was read.
    net1 = f"name=eth1,bridge=vmbr0,ip={taken}/24"
    fake_api.data("PUT", f"/nodes/{holder.node}/lxc/{holder.vmid}/config", data={"net1": net1})
    try:
        again = client.get("/api/v1/ips/free", params={"cidr": "10.0.20.0/24"}, headers=operator).json()
        assert taken not in again["free"], "the finder no longer offers it"
        assert {u["address"]: u["vmid"] for u in again["used"]}[taken] == holder.vmid
        refused = client.post(
            "/api/v1/actions/create-ct", json=container(pve, 9481, f"{taken}/24"), headers=operator
        )
        assert refused.status_code == 409
        assert refused.json()["detail"].startswith(
            f"{taken} is used by {holder.vmid} ({holder.name}, running)"
        )
        assert not [c for c in pve.cts if c.vmid == 9481]
    finally:
        fake_api.data("PUT", f"/nodes/{holder.node}/lxc/{holder.vmid}/config", data={"delete": "net1"})
        assert holder.config["net0"] == before


def test_a_created_guest_is_known_to_the_finder_at_once(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    first = client.get("/api/v1/ips/free", params={"cidr": "10.92.8.0/24", "limit": 2}, headers=operator)
    assert first.json()["free"] == ["10.92.8.1", "10.92.8.2"]
    answer = client.post(
        "/api/v1/actions/create-ct", json=container(pve, 9482, "10.92.8.1/24"), headers=operator
    )
    assert answer.status_code == 200, answer.text
    assert wait_for_event(client, operator, answer.json()["upid"])["outcome"] == "succeeded"
    after = client.get("/api/v1/ips/free", params={"cidr": "10.92.8.0/24", "limit": 2}, headers=operator)
    assert after.json()["free"] == ["10.92.8.2", "10.92.8.3"]
    again = client.post(
        "/api/v1/actions/create-ct", json=container(pve, 9483, "10.92.8.1/24"), headers=operator
    )
    assert again.status_code == 409 and again.json()["detail"].startswith(
        "10.92.8.1 is used by 9482 (reuse-9482"
    )


def test_a_vmid_taken_again_is_read_again(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    old = pve.add_ct(
        9484, "gone", node="pve1", config={"hostname": "gone", "net0": "name=eth0,ip=10.92.9.5/24"}
    )
    time.sleep(CACHE)  # made in the Proxmox UI: Proxgate sees it once its cluster view is read again
    warm = client.get(
        "/api/v1/ips/free", params={"cidr": "10.92.9.0/24", "limit": 1}, headers=operator
    ).json()
    assert warm["free"] == ["10.92.9.1"] and warm["used"][0]["vmid"] == 9484
    pve.cts.remove(old)  # deleted in the Proxmox UI; Proxgate creates a new 9484 in another subnet
    answer = client.post(
        "/api/v1/actions/create-ct", json=container(pve, 9484, "10.92.10.5/24"), headers=operator
    )
    assert answer.status_code == 200, answer.text
    assert wait_for_event(client, operator, answer.json()["upid"])["outcome"] == "succeeded"
    free = client.get("/api/v1/ips/free", params={"cidr": "10.92.10.0/24"}, headers=operator).json()
    assert {u["address"]: u["vmid"] for u in free["used"]} == {"10.92.10.5": 9484}
