"""Breadcrumbs name the page they lead to, and counts add up to what is listed beside them."""

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

VMID = 9845

CACHE = 0.6  # the test app caches /cluster/resources for 0.5 s


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


def text_of(html: str, pattern: str) -> str:
    """The text (tags dropped, spaces folded) of the first match's group 1."""
    found = re.search(pattern, html, re.S)
    assert found, pattern
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def crumbs(html: str) -> str:
    """The breadcrumb line's text."""
    return text_of(html, r'<p class="crumbs">(.*?)</p>')


def test_breadcrumbs_end_with_the_page_s_own_name(
    app_server: AppServer, settings: Settings, viewer: httpx.Client, pve: DemoPve
) -> None:
    assert crumbs(viewer.get("/nodes/pve2").text) == "Cluster › Nodes › pve2"
    assert crumbs(viewer.get("/storage/pve1/local").text) == "Storage › local on pve1"
    assert crumbs(viewer.get("/storage/pve1/ceph-vm").text) == "Storage › ceph-vm", "shared: on no node"
    vm = pve.add_vm(VMID, "crumbs", node="pve1", status="stopped", config={"memory": 512})
    try:
        with signed_in(app_server.url, make_user(settings, "operator")) as operator:
            started = operator.post(f"/guests/{VMID}/actions/start", headers={"HX-Request": "true"})
        upid = re.search(r'id="action-task-link"', started.text) and re.search(
            r'/tasks/([^"]+)"', started.text
        )
        assert upid, started.text
        assert crumbs(viewer.get(f"/tasks/{upid.group(1)}").text) == f"Tasks › qmstart {VMID}"
    finally:
        pve.vms.remove(vm)


def test_the_node_page_counts_what_its_table_lists(viewer: httpx.Client, pve: DemoPve) -> None:
    node = next(n for n in pve.nodes if any(g.template and g.node == n for g in [*pve.vms, *pve.cts]))
    time.sleep(CACHE)  # other tests add and remove guests: the page's cluster view is read after they did
    page = viewer.get(f"/nodes/{node}").text
    mine = [g for g in [*pve.vms, *pve.cts] if g.node == node]
    guests, templates = sum(1 for g in mine if not g.template), sum(1 for g in mine if g.template)
    running = sum(1 for g in mine if g.status == "running" and not g.template)
    facts = text_of(page, r"<dt>Guests</dt><dd>(.*?)</dd>")
    assert facts == f"{running} running of {guests} · {templates} template{'s' if templates > 1 else ''}"
    heading = text_of(page, r'id="node-guest-count">(.*?)</span>')
    assert heading == f"{guests} and {templates} template{'s' if templates > 1 else ''}"
