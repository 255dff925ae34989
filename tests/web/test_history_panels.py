"""The history panel on the guest and storage pages, the range kept in the URL, and the links into Proxmox."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.proxmox.connection import PveConnection
from app.web.proxmox_ui import proxmox_ui, ui_state
from pvesim.fake import DemoPve
from tests.factories import make_user, signed_in
from tests.servers import AppServer


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


def links(page: str, ident: str) -> str:
    found = re.search(rf'<a [^>]*href="([^"]+)"[^>]*id="{ident}"', page)
    assert found, ident
    return html.unescape(found.group(1))


def current(page: str, name: str) -> list[str]:
    """The values of the range menu marked current."""
    return re.findall(rf'data-range="{name}" data-value="([^"]+)" aria-current="true"', page)


def guest(pve: DemoPve, kind: str, **want: Any) -> Any:
    pool = pve.vms if kind == "qemu" else pve.cts
    return next(g for g in pool if all(getattr(g, k) == v for k, v in want.items()))


def test_guest_page_has_the_charts_above_its_configuration(viewer: httpx.Client, pve: DemoPve) -> None:
    vm = guest(pve, "qemu", status="running", template=False)
    page = viewer.get(f"/guests/{vm.vmid}").text
    assert page.index('id="history"') < page.index('id="guest-config"')
    assert f'data-rrd-url="/api/v1/guests/{vm.vmid}/rrd"' in page
    assert re.findall(r'data-chart="([^"]+)"', page) == ["cpu", "memory", "network", "disk"]
    assert current(page, "timeframe") == ["hour"] and current(page, "cf") == ["AVERAGE"]
    assert "vendor/uPlot-1.6.32.iife.min.js" in page and "js/charts.js" in page


def test_the_range_is_kept_in_the_url(viewer: httpx.Client, pve: DemoPve) -> None:
    ct = guest(pve, "lxc", status="running", template=False)
    page = viewer.get(f"/guests/{ct.vmid}", params={"timeframe": "week", "cf": "MAX"}).text
    assert current(page, "timeframe") == ["week"] and current(page, "cf") == ["MAX"]
    assert 'data-timeframe="week" data-cf="MAX"' in page
    month = re.search(r'href="([^"]+)" data-range="timeframe" data-value="month"', page)
    assert month and html.unescape(month.group(1)) == f"/guests/{ct.vmid}?timeframe=month&cf=MAX"
    again = viewer.get(html.unescape(month.group(1))).text
    assert current(again, "timeframe") == ["month"] and current(again, "cf") == ["MAX"]
    bad = viewer.get(f"/guests/{ct.vmid}", params={"timeframe": "fortnight"})
    assert bad.status_code == 422 and "timeframe: Input should be" in bad.text


def test_console_and_open_in_proxmox_point_at_the_guests_node_type_and_vmid(
    viewer: httpx.Client, pve: DemoPve, settings: Settings
) -> None:
    port = settings.proxmox_host.rsplit(":", 1)[1]  # type: ignore[union-attr]
    vm = guest(pve, "qemu", status="running", template=False, node="pve2")
    page = viewer.get(f"/guests/{vm.vmid}").text
    assert links(page, "open-console") == (
        f"https://192.0.2.12:{port}/?console=kvm&novnc=1&vmid={vm.vmid}&vmname={vm.name}&node=pve2&resize=off"
    )
    assert links(page, "open-in-proxmox") == f"https://192.0.2.12:{port}/#v1:0:=qemu%2F{vm.vmid}:4:::::5::"
    ct = guest(pve, "lxc", node="pve3", template=False)
    page = viewer.get(f"/guests/{ct.vmid}").text
    assert links(page, "open-console") == (
        f"https://192.0.2.13:{port}/?console=lxc&xtermjs=1&vmid={ct.vmid}&vmname={ct.config['hostname']}&node=pve3"
    )
    assert links(page, "open-in-proxmox") == f"https://192.0.2.13:{port}/#v1:0:=lxc%2F{ct.vmid}:4::::::5:"


def test_a_template_has_no_console_and_no_charts(viewer: httpx.Client, pve: DemoPve) -> None:
    template = guest(pve, "qemu", template=True)
    page = viewer.get(f"/guests/{template.vmid}").text
    assert 'id="open-console"' not in page and 'id="history"' not in page
    assert f"#v1:0:=qemu%2F{template.vmid}:4:::::5::" in page


def test_storage_page_charts_its_usage(viewer: httpx.Client) -> None:
    page = viewer.get("/storage/pve1/nas-backup", params={"content": "backup", "timeframe": "year"}).text
    assert 'data-rrd-url="/api/v1/storage/pve1/nas-backup/rrd"' in page
    assert re.findall(r'data-chart="([^"]+)"', page) == ["usage"] and current(page, "timeframe") == ["year"]
    day = re.search(r'href="([^"]+)" data-range="timeframe" data-value="day"', page)
    assert (
        day
        and html.unescape(day.group(1)) == "/storage/pve1/nas-backup?content=backup&timeframe=day&cf=AVERAGE"
    )


def test_proxmox_ui_state_and_addresses() -> None:
    assert ui_state("qemu/100") == "v1:0:=qemu%2F100:4:::::5::"
    assert ui_state("lxc/101") == "v1:0:=lxc%2F101:4::::::5:"
    assert ui_state("node/pve 1") == "v1:0:=node%2Fpve%201:4:5::::::"
    connection = PveConnection("pve.example.com", "root@pam!app", "secret")
    assert (
        proxmox_ui(connection, None).shell("pve1")
        == "https://pve.example.com:8006/?console=shell&xtermjs=1&node=pve1"
    )
    v6 = proxmox_ui(PveConnection("https://[fd00::1]:443", "root@pam!app", "secret"), "fd00::2")
    assert v6.console("qemu", 100, "web 01", "pve1").startswith(
        "https://[fd00::2]:443/?console=kvm&novnc=1&vmid=100&vmname=web%2001&"
    )
