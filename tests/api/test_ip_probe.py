"""PROXGATE_IP_PROBE=ping,neigh: the free-address finder and a new guest's static address are checked beyond
Proxmox (loopback addresses only, which always answer a ping); with it off only Proxmox's view is used, and the
finder says which."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from app.services.ips.probe import NO_PROBE
from pvesim.fake import DemoPve
from tests.api.test_actions import bearer
from tests.servers import AppServer

PINGED = "in use outside Proxmox: it answered a ping from Proxgate's host"


@pytest.fixture(scope="module")
def probing(settings: Settings) -> Iterator[AppServer]:
    """The suite's app with the probe on."""
    server = AppServer(settings.model_copy(update={"ip_probe": "ping,neigh"}))
    yield server
    server.stop()


def test_the_finder_offers_no_address_that_answers_a_ping(probing: AppServer, settings: Settings) -> None:
    with httpx.Client(base_url=probing.url, headers=bearer(settings, "viewer"), timeout=30) as api:
        body = api.get("/api/v1/ips/free", params={"cidr": "127.0.0.0/29"}).json()
    assert body["free"] == [] and body["free_count"] == 0 and body["probed"] == 6
    assert [u["address"] for u in body["used"]] == [f"127.0.0.{n}" for n in range(1, 7)]
    assert {u["used_by"] for u in body["used"]} == {PINGED}
    assert "a ping from Proxgate's host (2 packets, 1 s) and its neighbour (ARP/NDP) table" in body["checks"]
    assert "a stopped server that owns a DHCP reservation" in body["checks"]


def test_a_new_guest_may_not_take_an_address_that_answers(
    probing: AppServer, settings: Settings, pve: DemoPve
) -> None:
    ct = {
        "node": "pve1",
        "hostname": "pinged",
        "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "rootfs_storage": "local-lvm",
        "ipv4": "static",
        "ip": "127.0.0.9/8",
        "password": "s3cret-pass",
    }
    count = len(pve.cts)
    with httpx.Client(base_url=probing.url, headers=bearer(settings, "operator"), timeout=30) as api:
        answer = api.post("/api/v1/actions/create-ct", json=ct)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["field"] == "ip" and body["confirm"] == "allow_ip_reuse"
    assert body["detail"].startswith(
        "127.0.0.9 is used by something outside Proxmox (it answered a ping from Proxgate's host)."
    )
    assert len(pve.cts) == count


def test_with_the_probe_off_the_finder_says_only_proxmox_was_asked(api: httpx.Client) -> None:
    body = api.get("/api/v1/ips/free", params={"cidr": "127.0.0.0/29"}).json()
    assert body["checks"] == NO_PROBE and body["probed"] == 0 and len(body["free"]) == 6
