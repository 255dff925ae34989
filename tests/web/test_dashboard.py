"""The dashboard shows the fake cluster's health, and bad days plainly."""

from __future__ import annotations

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


def node_rows(html: str) -> dict[str, str]:
    """Node name -> the text of its table row."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr data-node="([^"]+)".*?</tr>', html, re.S)}


def test_dashboard_shows_nodes_counts_and_storage(viewer: httpx.Client, pve: DemoPve) -> None:
    page = viewer.get("/")
    assert page.status_code == 200
    rows = node_rows(page.text)
    assert set(rows) == set(pve.nodes)
    assert all("online" in row for row in rows.values())
    running = sum(1 for g in [*pve.vms, *pve.cts] if g.status == "running" and not g.template)
    assert re.search(rf'id="stat-running">.*?<span class="stat-value">{running}</span>', page.text, re.S)
    assert 'id="stat-quorum">' in page.text and ">OK<" in page.text
    assert 'id="storage-table"' in page.text


def test_the_guest_counts_are_broken_down_by_kind(viewer: httpx.Client, pve: DemoPve) -> None:
    page = viewer.get("/").text
    guests = [g for g in [*pve.vms, *pve.cts] if not g.template]
    for state, card in (("running", "running-kinds"), ("stopped", "stopped-kinds")):
        vms = sum(1 for g in guests if g in pve.vms and (g.status == "running") == (state == "running"))
        cts = sum(1 for g in guests if g in pve.cts and (g.status == "running") == (state == "running"))
        sub = re.search(rf'id="{card}">(.*?)</span>', page, re.S)
        assert sub, card
        text = re.sub(r"<[^>]+>", "", sub.group(1))
        assert text.startswith(f"{vms} VMs · {cts} containers"), (state, text)
        assert f"?status={state}&amp;type=qemu" in sub.group(1)
    running = re.search(r'id="stat-running">.*?<span class="stat-value">(\d+)</span>', page, re.S)
    assert running and int(running.group(1)) == sum(1 for g in guests if g.status == "running")


def test_storage_above_85_percent_is_flagged(viewer: httpx.Client) -> None:
    page = viewer.get("/").text
    assert re.search(r'<tr data-storage="[^"]+" class="warn">', page), "the seed has a nearly full storage"
    assert "over 85 %" in page


def test_htmx_refresh_gets_the_partial_only(viewer: httpx.Client) -> None:
    answer = viewer.get("/", headers={"HX-Request": "true"})
    assert answer.text.lstrip().startswith('<div id="cluster-health"')
    assert "<html" not in answer.text
    assert answer.headers["vary"] == "HX-Request"


def test_offline_node_is_shown_as_offline(viewer: httpx.Client, pve: DemoPve) -> None:
    node = sorted(pve.nodes)[-1]
    pve.set_node_offline(node)
    viewer.get("/")  # resources are cached briefly; the next page after the TTL shows the change
    time.sleep(0.6)
    rows = node_rows(viewer.get("/").text)
    assert "offline" in rows[node]
    assert "Its guests show as unknown" in rows[node]


def test_lost_quorum_is_shown(viewer: httpx.Client, pve: DemoPve) -> None:
    pve.lose_quorum()
    page = viewer.get("/").text
    assert re.search(r'id="stat-quorum">.*?Lost', page, re.S)


def test_unreachable_proxmox_gives_a_plain_page_and_the_app_keeps_working(
    viewer: httpx.Client, pve: DemoPve
) -> None:
    pve.fail("GET", "/cluster/resources", 596, "tls handshake failed")
    time.sleep(0.6)
    page = viewer.get("/")
    assert page.status_code == 200
    assert "Proxmox cannot be reached right now." in page.text
    assert viewer.get("/account").status_code == 200
