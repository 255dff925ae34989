"""The IP inventory pages: the table, the filter, notes on what could not be read, free addresses."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.backup_guests import FakeApi
from tests.factories import make_user, signed_in
from tests.ip_guests import Guests, agent_down_vm
from tests.servers import AppServer

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[Guests]:
    """Guests the test adds (vmids 9200-9299), removed afterwards."""
    with Guests(pve) as added:
        yield added
    time.sleep(0.6)  # the app's /cluster/resources cache forgets them


def table_rows(page: str) -> list[tuple[str, str]]:
    """(address, vmid) of each table row."""
    return re.findall(r'<tr data-address="([^"]+)" data-vmid="(\d+)">', page)


def note_of(page: str, vmid: int) -> str:
    """The text of the notes about one guest."""
    found = re.findall(rf'<li data-kind="[a-z]+" data-vmid="{vmid}">(.*?)</li>', page, re.S)
    return " ".join(" ".join(html.unescape(re.sub(r"<[^>]+>", "", f)).split()) for f in found)


def test_the_inventory_lists_addresses_with_guest_and_source(viewer: httpx.Client, pve: DemoPve) -> None:
    page = viewer.get("/ips")
    assert page.status_code == 200
    assert re.search(r'<a href="/ips" aria-current="page">IPs</a>', page.text)
    rows = table_rows(page.text)
    ct = next(c for c in pve.cts if c.status == "running" and "ip=10." in c.config["net0"])
    address = ct.config["net0"].split("ip=", 1)[1].split("/", 1)[0]
    assert (address, str(ct.vmid)) in rows
    row = re.search(rf'<tr data-address="{re.escape(address)}".*?</tr>', page.text, re.S)
    assert row is not None
    assert f'href="/guests/{ct.vmid}"' in row.group(0) and ct.name in row.group(0)
    assert "config: net0, container interfaces" in row.group(0) and "/24" in row.group(0)
    assert not any(a.startswith("127.") or a == "::1" for a, _ in rows)
    assert "link-local" in page.text


def test_filter_by_network_and_by_start(viewer: httpx.Client) -> None:
    page = viewer.get("/ips", params={"prefix": "10.0.20.0/24"})
    rows = table_rows(page.text)
    assert rows and all(a.startswith("10.0.20.") for a, _ in rows)
    assert 'value="10.0.20.0/24"' in page.text and "matching <code>10.0.20.0/24</code>" in page.text
    start = table_rows(viewer.get("/ips", params={"prefix": "fd00:0:10"}).text)
    assert start and all(a.startswith("fd00:0:10:") for a, _ in start)


def test_htmx_gets_the_inventory_partial_that_refreshes_with_its_filter(viewer: httpx.Client) -> None:
    answer = viewer.get("/ips", params={"prefix": "10.0."}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "<html" not in answer.text
    assert answer.text.lstrip().startswith('<div id="ip-inventory" hx-get="/ips?prefix=10.0."')
    assert 'hx-trigger="every 30s"' in answer.text
    assert answer.headers["vary"] == "HX-Request"


def test_a_bad_prefix_is_explained_beside_the_field(viewer: httpx.Client, pve: DemoPve) -> None:
    before = len(pve.requests)
    page = viewer.get("/ips", params={"prefix": "web01"})
    assert page.status_code == 422
    assert re.search(r'id="ip-prefix"[^>]*aria-invalid="true"', page.text, re.S)
    error = re.search(r'id="ip-filter-error">(.*?)</p>', page.text, re.S)
    assert error is not None and "is not an address or the start of one" in html.unescape(error.group(1))
    assert len(pve.requests) == before, "nothing is asked of Proxmox for a bad filter"


def test_agent_not_running_is_noted(viewer: httpx.Client, pve: DemoPve) -> None:
    vm = agent_down_vm(pve)
    page = viewer.get("/ips").text
    assert "QEMU guest agent is not running" in note_of(page, vm.vmid)
    assert "What could not be read" in page


def test_forbidden_config_is_noted_and_the_rest_shows(
    viewer: httpx.Client, pve: DemoPve, guests: Guests
) -> None:
    guests.vm(9220, "secret-vm", "ip=10.92.2.20/24,gw=10.92.2.1")
    pve.fail("GET", "/nodes/pve1/qemu/9220/config", 403, "Permission check failed (/vms/9220, VM.Audit)")
    time.sleep(0.6)
    page = viewer.get("/ips").text
    note = note_of(page, 9220)
    assert "VM.Audit" in note and "/vms/9220" in note and "configuration cannot be read" in note
    rows = table_rows(page)
    assert "9220" not in {v for _, v in rows} and len({v for _, v in rows}) > 15


def test_hostile_guest_name_is_text(viewer: httpx.Client, guests: Guests) -> None:
    guests.vm(9221, HOSTILE, "ip=10.92.2.21/24")
    time.sleep(0.6)
    page = viewer.get("/ips", params={"prefix": "10.92.2.21"}).text
    assert table_rows(page) == [("10.92.2.21", "9221")]
    assert html.escape(HOSTILE, quote=False) in page
    assert HOSTILE not in page


def test_free_addresses_page(viewer: httpx.Client) -> None:
    page = viewer.get("/ips/free", params={"cidr": "10.0.10.0/24"})
    assert page.status_code == 200
    assert re.search(r'<a href="/ips" aria-current="page">IPs</a>', page.text)
    free = re.findall(r"<li><code>([0-9.]+)</code></li>", page.text)
    used = set(re.findall(r"<li><code>([0-9.]+)</code> –", page.text))
    taken = {a for a, _ in table_rows(viewer.get("/ips", params={"prefix": "10.0.10.0/24"}).text)}
    assert free and taken and taken <= used and "10.0.10.1" in used
    assert not set(free) & used and "10.0.10.0" not in free and "10.0.10.255" not in free
    assert "What Proxmox cannot see." in page.text and "DHCP server" in page.text
    summary = re.search(r'id="ip-free-summary">(.*?)</p>', page.text, re.S)
    assert summary is not None and f"<strong>{254 - len(used)}</strong> of 254" in summary.group(1)


def test_free_addresses_partial_and_errors(viewer: httpx.Client) -> None:
    partial = viewer.get("/ips/free", params={"cidr": "10.0.0.0/16"}, headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<section id="ip-free"') and "<html" not in partial.text
    assert "The first 256 are listed." in partial.text
    bad = viewer.get("/ips/free", params={"cidr": "fd00::/48"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "larger than a /64" in bad.text and 'id="ip-free-error"' in bad.text
    empty = viewer.get("/ips/free")
    assert empty.status_code == 200 and 'id="ip-cidr"' in empty.text and 'id="ip-free-intro"' in empty.text


def test_pages_need_a_sign_in(client: httpx.Client) -> None:
    for path in ("/ips", "/ips/free?cidr=10.0.10.0/24"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_the_inventory_is_paged_on_the_server_and_refreshes_its_page_only(viewer: httpx.Client) -> None:
    first = viewer.get("/ips", params={"per_page": 25})
    rows = table_rows(first.text)
    total = int(re.search(r"Showing 1–25 of (\d+) addresses", first.text).group(1))  # type: ignore[union-attr]
    assert len(rows) == 25 < total
    assert re.search(r'id="ip-pager".*?href="/ips\?per_page=25&amp;page=2"', first.text, re.S)
    second = viewer.get("/ips", params={"per_page": 25, "page": 2}, headers={"HX-Request": "true"})
    assert second.text.lstrip().startswith('<div id="ip-inventory"')
    assert 'hx-get="/ips?per_page=25&amp;page=2"' in second.text, "the 30 s refresh keeps to this page"
    assert not set(table_rows(second.text)) & set(rows)
    filtered = viewer.get("/ips", params={"prefix": "10.0.10.0/24", "per_page": 25, "page": 99})
    assert "10.0.10." in filtered.text and "page=99" not in filtered.text, "past the end: the last page"


def test_an_address_used_by_two_guests_is_marked_on_both(
    viewer: httpx.Client, guests: Guests, api: httpx.Client
) -> None:
    guests.ct(9240, "dup-a", "name=eth0,bridge=vmbr0,ip=10.0.99.5/24")
    guests.ct(9241, "dup-b", "name=eth0,bridge=vmbr0,ip=10.0.99.5/24")
    guests.ct(9242, "single", "name=eth0,bridge=vmbr0,ip=10.0.99.6/24")
    time.sleep(0.6)
    page = viewer.get("/ips", params={"prefix": "10.0.99.0/24"}).text
    for vmid, other in ((9240, 9241), (9241, 9240)):
        row = re.search(rf'<tr data-address="10.0.99.5" data-vmid="{vmid}".*?</tr>', page, re.S)
        assert row and "also used by" in row.group(0) and f'href="/guests/{other}"' in row.group(0)
    single = re.search(r'<tr data-address="10.0.99.6".*?</tr>', page, re.S)
    assert single and "also used by" not in single.group(0)
    assert "1 address is used by more than one guest" in page
    items = api.get("/api/v1/ips", params={"prefix": "10.0.99.0/24"}).json()["items"]
    assert {(i["vmid"], tuple(i["shared_with"])) for i in items} == {
        (9240, (9241,)),
        (9241, (9240,)),
        (9242, ()),
    }


def test_free_addresses_page_reads_again_what_changed_in_proxmox(
    viewer: httpx.Client, pve: DemoPve, guests: Guests, fake_api: FakeApi
) -> None:
    guests.ct(9264, "ui-edited", "name=eth0,bridge=vmbr0,ip=10.92.11.1/24")
    time.sleep(0.6)  # past the app's cached cluster view

    def offered() -> list[str]:
        page = viewer.get("/ips/free", params={"cidr": "10.92.11.0/24"}, headers={"HX-Request": "true"})
        return re.findall(r"<li><code>([0-9.]+)</code></li>", page.text)[:2]

    assert offered() == ["10.92.11.2", "10.92.11.3"]
    fake_api.data(
        "PUT", "/nodes/pve1/lxc/9264/config", data={"net1": "name=eth1,bridge=vmbr0,ip=10.92.11.2/24"}
    )
    assert offered() == ["10.92.11.3", "10.92.11.4"]
