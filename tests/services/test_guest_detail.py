"""A guest's page as soon as something happened to it: its addresses and recent tasks follow the guest, not a
cluster view or a task list read before the change (both kept for a minute here)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.proxmox.paths import GuestPath
from app.services.cluster import Cluster
from app.services.cluster.connection import pve_connection
from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake

CT = 9841


@pytest.fixture
async def cluster(served_fake: ServedFake, tmp_path: Path) -> AsyncIterator[Cluster]:
    """The cluster's views, their caches kept for a minute, as on a big cluster."""
    views = Cluster.open(pve_connection(app_settings(served_fake, "sqlite://", tmp_path, resources_ttl=60)))
    yield views
    await views.aclose()


@pytest.fixture
def stopped_ct(pve: DemoPve) -> Iterator[Any]:
    """A stopped container with a static address on eth0; removed afterwards."""
    ct = pve.add_ct(
        CT,
        "fresh",
        node="pve1",
        status="stopped",
        config={"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:98:41:01,ip=10.98.41.10/24"},
    )
    yield ct
    pve.cts.remove(ct)


async def test_a_guest_started_after_the_view_was_read_shows_its_live_addresses(
    cluster: Cluster, stopped_ct: Any
) -> None:
    service = cluster.guest_detail()
    before = await service.detail(CT)
    assert before.guest.status == "stopped"
    assert before.ips is not None, before.problems
    assert [i.sources for i in before.ips.items()] == [("config: net0",)]
    stopped_ct.status = "running"
    after = await service.detail(CT)
    assert after.guest.status == "running"
    assert after.ips is not None
    assert any("interfaces" in " ".join(i.sources) for i in after.ips.items()), after.ips.items()
    listed = (await cluster.client.cluster_resources()).guest(CT)
    assert listed is not None and listed.status == "running", "the lists catch up with the page"


async def test_recent_tasks_show_a_task_that_ended_since_the_list_was_read(
    cluster: Cluster, stopped_ct: Any
) -> None:
    service = cluster.guest_detail()
    assert (await service.detail(CT)).tasks == []
    upid = await cluster.client.post(GuestPath("pve1", "lxc", CT).status("start"))
    for _ in range(100):
        if not (await cluster.tasks.task_detail(upid)).running:
            break
        await asyncio.sleep(0.05)
    view = await service.detail(CT)
    assert [(t.upid, t.state) for t in view.tasks] == [(upid, "ok")]


async def test_a_guest_s_name_follows_the_task_that_gave_it(
    cluster: Cluster, pve: DemoPve, stopped_ct: Any
) -> None:
    assert (await cluster.tasks.guest_names())[CT] == "fresh"
    stopped_ct.config["hostname"] = "renamed"  # as a creation's task writes the config at its end
    upid = await cluster.client.post(GuestPath("pve1", "lxc", CT).status("start"))
    for _ in range(100):
        if not (await cluster.tasks.task_detail(upid)).running:
            break
        await asyncio.sleep(0.05)
    assert (await cluster.tasks.guest_names())[CT] == "renamed"


async def test_the_page_reads_the_config_with_its_pending_changes_in_one_request(
    cluster: Cluster, pve: DemoPve, stopped_ct: Any
) -> None:
    stopped_ct.config.update(memory=1024, tags="web", swap=512)
    stopped_ct.pending.update(
        memory=2048, tags=None
    )  # waiting for the next start, as a running one keeps them
    path = GuestPath("pve1", "lxc", CT)
    since = len(pve.requests)

    view = await cluster.guest_detail().detail(CT)

    read = [p for m, p, _ in pve.requests[since:] if m == "GET" and p.startswith("/api2/json" + path.base)]
    assert any(p.endswith("/pending") for p in read) and not any(p.endswith("/config") for p in read), read
    assert view.config == await cluster.client.get(path.config), (
        "what GET .../config answers, digest included"
    )
    assert view.config["memory"] == 2048 and "tags" not in view.config and view.config["swap"] == 512
    assert [(p.key, p.pending, p.delete) for p in view.pending] == [
        ("memory", "2048", False),
        ("tags", None, True),
    ]
