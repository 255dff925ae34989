"""Finding a guest by one of its IP addresses, from the header search and the guest list."""

from __future__ import annotations

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import make_user, signed_in
from tests.servers import AppServer


def configured_address(pve: DemoPve) -> tuple[int, str]:
    """A container with a static address in its config, and that address."""
    for ct in pve.cts:
        net = str(ct.config.get("net0", ""))
        if "ip=" in net and "ip=dhcp" not in net and not ct.template:
            return ct.vmid, net.split("ip=", 1)[1].split("/", 1)[0]
    raise AssertionError("the seed has no container with a static address")


def test_header_search_by_address_jumps_to_the_guest(
    app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    vmid, address = configured_address(pve)
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        answer = http.get("/search", params={"q": address})
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/guests/{vmid}"
        listed = http.get("/guests", params={"q": address}, headers={"HX-Request": "true"})
        assert f'data-vmid="{vmid}"' in listed.text


def test_api_list_finds_by_known_address(
    client: httpx.Client, app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    vmid, address = configured_address(pve)
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        http.get("/ips")  # the address becomes known once Proxmox was asked
        items = http.get("/api/v1/guests", params={"q": address}).json()["items"]
    assert [i["vmid"] for i in items] == [vmid]
