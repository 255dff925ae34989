"""Each node shows its own usage: memory and CPU follow the guests running on it, root disks differ."""

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

VMID = 9846


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


def usage(html: str, node: str) -> tuple[str, str, str]:
    """The CPU, memory and root disk labels of the node's row on the dashboard."""
    row = re.search(rf'<tr data-node="{node}".*?</tr>', html, re.S)
    assert row, node
    labels = re.findall(r'<span class="bar-label">([^<]+)</span>', row.group(0))
    assert len(labels) == 3, labels
    return labels[0], labels[1], labels[2]


def test_nodes_show_their_own_usage(viewer: httpx.Client, pve: DemoPve, settings: Settings) -> None:
    online = [n for n, state in pve.nodes.items() if state.get("online", True)]
    before = {n: usage(viewer.get("/").text, n) for n in online}
    assert len({u[1] for u in before.values()}) == len(online), f"memory differs by node: {before}"
    assert len({u[2] for u in before.values()}) == len(online), f"root disks differ by node: {before}"
    vm = pve.add_vm(VMID, "big", node="pve1", status="running", config={"memory": 65536, "cores": 16})
    try:
        time.sleep(settings.resources_ttl + 0.1)
        after = usage(viewer.get("/").text, "pve1")
        assert after[1] != before["pve1"][1] and after[0] != before["pve1"][0], (before["pve1"], after)
        status = viewer.get("/nodes/pve1").text
        assert after[1].split(" / ")[0] in status, "the node's page says the same"
    finally:
        pve.vms.remove(vm)
