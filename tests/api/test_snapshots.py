"""GET /api/v1/guests/{vmid}/snapshots: Proxmox's own list, 'current' included, in pages."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from pvesim.fake import DemoPve
from tests.agents.agent_guests import add_ct, add_vm, guests_made
from tests.backup_guests import FakeApi


@pytest.fixture
def snapped(pve: DemoPve, fake_api: FakeApi) -> Iterator[None]:
    """VM 9711 with a chain of three snapshots (one with RAM), CT 9712 with none."""
    for made in guests_made(pve):
        add_vm(pve, 9711, "snap-api")
        add_ct(pve, 9712, "snap-api-ct")
        for name in ("one", "two", "three"):
            fake_api.run(
                "POST", "/nodes/pve1/qemu/9711/snapshot", data={"snapname": name, "description": name}
            )
        time.sleep(0.6)  # past the app's cached cluster view
        yield made


def test_lists_every_snapshot_in_proxmox_order_with_current_last(api: httpx.Client, snapped: None) -> None:
    page = api.get("/api/v1/guests/9711/snapshots").json()
    assert [(s["name"], s["description"], s["parent"], s["current"]) for s in page["items"]] == [
        ("one", "one", None, False),
        ("two", "two", "one", False),
        ("three", "three", "two", False),
        ("current", "You are here!", "three", True),
    ]
    assert page["total"] == 4 and page["next_cursor"] is None
    assert all(isinstance(s["snaptime"], int) for s in page["items"][:3])
    container = api.get("/api/v1/guests/9712/snapshots").json()
    assert [s["name"] for s in container["items"]] == ["current"]


def test_pages_follow_the_cursor_and_refuse_strangers(api: httpx.Client, snapped: None) -> None:
    first = api.get("/api/v1/guests/9711/snapshots", params={"limit": 3}).json()
    assert [s["name"] for s in first["items"]] == ["one", "two", "three"] and first["next_cursor"]
    rest = api.get(
        "/api/v1/guests/9711/snapshots", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [s["name"] for s in rest["items"]] == ["current"] and rest["next_cursor"] is None
    bad = api.get("/api/v1/guests/9711/snapshots", params={"cursor": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"
    missing = api.get("/api/v1/guests/9799/snapshots")
    assert missing.status_code == 404 and missing.json()["detail"] == "There is no guest 9799."
    anonymous = api.get("/api/v1/guests/9711/snapshots", headers={"Authorization": ""})
    assert anonymous.status_code == 401
