"""The node page (/nodes/{node}) and the dashboard's links to the pages that list what it counts."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import make_user, signed_in
from tests.servers import AppServer


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


def section(page: str, ident: str) -> str:
    """The HTML of the element with this id, up to its closing section."""
    found = re.search(rf'id="{ident}".*?</section>', page, re.S)
    assert found, ident
    return found.group(0)


def href(page: str, ident: str) -> str:
    """The unescaped href of the link with this id."""
    found = re.search(rf'<a [^>]*href="([^"]+)"[^>]*id="{ident}"', page)
    assert found, ident
    return html.unescape(found.group(1))


def test_node_page_shows_status_versions_storage_guests_and_charts(
    viewer: httpx.Client, pve: DemoPve, fake_api: object
) -> None:
    answer = viewer.get("/nodes/pve2")
    assert answer.status_code == 200
    page = answer.text
    assert "<h1>Node pve2</h1>" in page and 'id="node-status">online<' in page and "192.0.2.12" in page
    facts = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section(page, "node-facts")))
    for text in (
        "Proxmox VE 9.1.9",
        "Kernel 6.17.2-1-pve",
        "AMD EPYC 4344P 8-Core",
        "1 socket, 16 cores, 32 threads",
    ):
        assert text in facts
    assert "0.42 · 0.51 · 0.48" in facts and "IO delay 0.1 %" in facts
    assert re.search(r"up \d+d \d+h", page)
    for label in ("Memory", "Swap", "Root disk"):
        assert f'<span class="muted small">{label}</span>' in page
    storages = set(re.findall(r'<tr data-storage="([^"]+)"', section(page, "node-storage")))
    assert storages == {"local", "local-lvm", "ceph-vm", "nas-backup", "offsite-backup"}
    mine = sorted(g.vmid for g in [*pve.vms, *pve.cts] if g.node == "pve2")
    assert [int(v) for v in re.findall(r'<tr data-vmid="(\d+)"', page)] == mine[:25]
    charts = re.findall(r'data-chart="([^"]+)"', page)
    assert charts == ["cpu", "load", "memory", "swap", "rootfs", "network", "iowait"]
    assert 'data-rrd-url="/api/v1/nodes/pve2/rrd"' in page


def test_node_page_links_to_its_guest_list_storage_and_tasks(
    viewer: httpx.Client, pve: DemoPve, settings: Settings
) -> None:
    # Other tests add and remove guests: the page's cluster view is read after they did.
    time.sleep(settings.resources_ttl + 0.1)
    page = viewer.get("/nodes/pve1").text
    guests = viewer.get(href(page, "node-guests-link"))
    running = sum(
        1 for g in [*pve.vms, *pve.cts] if g.node == "pve1" and g.status == "running" and not g.template
    )
    assert f">{running} running of " in page
    listed = {int(v) for v in re.findall(r'<tr data-vmid="(\d+)"', guests.text)}
    assert listed == {g.vmid for g in [*pve.vms, *pve.cts] if g.node == "pve1" and not g.template}
    storage = re.search(r'<tr data-storage="local-lvm".*?href="([^"]+)"', page, re.S)
    assert storage and viewer.get(storage.group(1)).status_code == 200


def test_node_shell_and_open_in_proxmox_point_at_the_node(viewer: httpx.Client, settings: Settings) -> None:
    port = settings.proxmox_host.rsplit(":", 1)[1]  # type: ignore[union-attr]
    page = viewer.get("/nodes/pve3").text
    assert href(page, "open-shell") == f"https://192.0.2.13:{port}/?console=shell&xtermjs=1&node=pve3"
    assert href(page, "open-in-proxmox") == f"https://192.0.2.13:{port}/#v1:0:=node%2Fpve3:4:5::::::"
    assert 'target="_blank" rel="noopener noreferrer" id="open-shell"' in page


def test_unknown_offline_and_badly_named_nodes(viewer: httpx.Client, pve: DemoPve) -> None:
    assert (
        "There is no node &#39;pve42&#39;; choose one of: pve1, pve2, pve3."
        in viewer.get("/nodes/pve42").text
    )
    assert viewer.get("/nodes/pve42").status_code == 404
    assert viewer.get("/nodes/no_such_name").status_code == 422
    pve.set_node_offline("pve3")
    time.sleep(0.6)
    page = viewer.get("/nodes/pve3")
    assert page.status_code == 200 and "Node pve3 is offline" in page.text
    assert 'id="node-status">offline<' in page.text and "AMD EPYC" not in page.text


def test_dashboard_links_nodes_storage_and_counts_to_their_lists(
    viewer: httpx.Client, pve: DemoPve, settings: Settings
) -> None:
    # A test before this one may have taken a node offline; wait out the resources cache that saw it so.
    time.sleep(settings.resources_ttl + 0.1)
    page = viewer.get("/").text
    everyone = [g for g in [*pve.vms, *pve.cts]]
    counted = {
        "status=running": sum(g.status == "running" and not g.template for g in everyone),
        "status=stopped&template=no": sum(g.status != "running" and not g.template for g in everyone),
        "status=running&type=qemu": sum(g in pve.vms and g.status == "running" for g in everyone),
        "status=running&type=lxc": sum(g in pve.cts and g.status == "running" for g in everyone),
        "status=stopped&type=qemu&template=no": sum(
            g in pve.vms and g.status != "running" and not g.template for g in everyone
        ),
        "status=stopped&type=lxc&template=no": sum(
            g in pve.cts and g.status != "running" and not g.template for g in everyone
        ),
        "template=yes": sum(bool(g.template) for g in everyone),
    }
    page = html.unescape(page)
    for query, count in counted.items():
        link = re.search(rf'href="([^"]*/guests\?{query})"[^>]*>(?:<span class="stat-value">)?(\d+)', page)
        assert link and int(link.group(2)) == count, query
        listing = viewer.get(link.group(1)).text
        assert re.search(rf"of {count} guests? matching the filters", listing), query
    for node in pve.nodes:
        link = re.search(rf'<a href="([^"]*/nodes/{node})"><strong>{node}</strong></a>', page)
        assert link and f"<h1>Node {node}</h1>" in viewer.get(link.group(1)).text
        assert re.search(rf'href="[^"]*/guests\?node={node}&template=no"', page)
    storage = re.search(r'<a href="([^"]*/storage/pve1/local-lvm)"><strong>local-lvm</strong></a>', page)
    assert storage and viewer.get(storage.group(1)).status_code == 200
