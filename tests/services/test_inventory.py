"""InventoryService and its index: search, filters, sort, pages, facets, and the header search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.proxmox import PveClient
from app.proxmox.models import ClusterResources
from app.services.cluster.connection import pve_connection
from app.services.cluster.inventory import GuestQuery, InventoryIndex, InventoryService
from app.services.cluster.inventory.index import natural_key
from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake


def guest(vmid: int | str, name: str, node: str = "pve1", kind: str = "qemu", **extra: Any) -> dict[str, Any]:
    """A /cluster/resources guest entry as PVE sends it (vmid may be a string, tags a ';' list)."""
    entry = {"id": f"{kind}/{vmid}", "type": kind, "vmid": vmid, "node": node, "name": name, "template": 0}
    entry.update({"status": "running", "maxcpu": 2, "maxmem": 2**31, "maxdisk": 2**34, **extra})
    return entry


def resources(*guests: dict[str, Any], offline: tuple[str, ...] = (), nodes: bool = True) -> ClusterResources:
    """A ClusterResources with nodes pve1 and pve2 (unless hidden) and these guests."""
    data: list[dict[str, Any]] = []
    if nodes:
        data += [
            {"id": f"node/{n}", "type": "node", "node": n, "status": "offline" if n in offline else "online"}
            for n in ("pve1", "pve2")
        ]
    return ClusterResources.from_api([*data, *guests], datetime.now(UTC))


CLUSTER = resources(
    guest(100, "web2", tags="prod;web", pool="production", cpu=0.5),
    guest(101, "web10", tags="prod;web", pool="production", cpu=0.1),
    guest("102", "db-main", node="pve2", kind="lxc", tags="db;prod", status="stopped"),
    guest(1000, "Backup-Box", node="pve2", tags="Backup", lock="backup", hastate="started"),
    guest(210, "tmpl", template=1, status="stopped"),
    guest(300, "worker-10", tags="ci"),
)


def vmids(index: InventoryIndex, **query: Any) -> list[int]:
    """The vmids the index keeps for this query, in order."""
    return [index.guests[i].vmid for i in index.select(GuestQuery(**query))]


def test_search_matches_vmid_prefix_name_part_and_tag() -> None:
    index = InventoryIndex(CLUSTER)
    assert vmids(index, q="10") == [100, 101, 102, 300, 1000], "vmid prefix, or '10' in a name (worker-10)"
    assert vmids(index, q="1000") == [1000]
    assert vmids(index, q="WEB") == [100, 101]
    assert vmids(index, q="backup") == [1000], "names and tags compare without case"
    assert vmids(index, q="ci") == [300]
    assert vmids(index, q="prod db") == [102], "every word must match"
    assert vmids(index, q="nothing") == []


def test_search_by_known_address() -> None:
    class Addresses:
        def vmids_for_ip(self, text: str) -> set[int]:
            return {102} if text == "10.0.0.5" else set()

    index = InventoryIndex(CLUSTER)
    query = GuestQuery(q="10.0.0.5")
    found = index.select(query, {"10.0.0.5": Addresses().vmids_for_ip("10.0.0.5")})
    assert [index.guests[i].vmid for i in found] == [102]
    assert index.select(query) == []


def test_filters() -> None:
    index = InventoryIndex(CLUSTER)
    assert vmids(index, node="pve2") == [102, 1000]
    assert vmids(index, type="lxc") == [102]
    assert vmids(index, status="stopped") == [102, 210]
    assert vmids(index, tag="PROD") == [100, 101, 102]
    assert vmids(index, pool="production") == [100, 101]
    assert vmids(index, template="yes") == [210]
    assert 210 not in vmids(index, template="no")
    assert vmids(index, node="pve1", tag="web", q="web1") == [101]


def test_sort_is_natural_and_goes_both_ways() -> None:
    index = InventoryIndex(CLUSTER)
    assert vmids(index, sort="name", q="web") == [100, 101], "web2 before web10"
    assert vmids(index, sort="name", order="desc", q="web") == [101, 100]
    assert vmids(index, sort="cpu", order="desc")[:2] == [100, 101]
    assert vmids(index, sort="vmid", order="desc") == [1000, 300, 210, 102, 101, 100]
    assert index.ordered("name", "asc") is index.ordered("name", "asc"), "each order is sorted once"
    assert natural_key("pve10") > natural_key("pve9")
    assert vmids(index, sort="tags")[:3] == [210, 1000, 300], "untagged first, then by tags"
    assert vmids(index, sort="pool", order="desc")[:2] == [101, 100]


def test_facets_and_offline_nodes() -> None:
    index = InventoryIndex(
        resources(*(guest(n, f"g{n}", node="pve2", status="unknown") for n in (1, 2)), offline=("pve2",))
    )
    assert index.offline_nodes == {"pve2"}
    assert [(f.value, f.count, f.online) for f in index.facets.nodes] == [
        ("pve1", 0, True),
        ("pve2", 2, False),
    ]
    facets = InventoryIndex(CLUSTER).facets
    assert [(f.value, f.count) for f in facets.tags] == [
        ("backup", 1),
        ("ci", 1),
        ("db", 1),
        ("prod", 3),
        ("web", 2),
    ]
    assert [(f.value, f.count) for f in facets.pools] == [("production", 2)]
    assert facets.statuses == {"running": 4, "stopped": 2} and facets.types == {"qemu": 5, "lxc": 1}
    assert facets.templates == 1


def test_query_reads_blank_form_fields_as_any_and_builds_short_urls() -> None:
    query = GuestQuery.model_validate({"q": "  ", "node": "", "type": "", "sort": "name", "page": "2"})
    assert (query.q, query.node, query.type, query.page) == (None, None, None, 2)
    assert query.params() == {"sort": "name", "page": "2"}
    assert query.params(page=None, order="desc") == {"sort": "name", "order": "desc"}
    assert query.next_order("name") == "desc" and query.next_order("cpu") == "desc"
    assert query.next_order("node") == "asc"
    for bad in ({"per_page": "30"}, {"type": "vm"}, {"tag": "a b"}, {"node": "-x"}, {"q": "x" * 201}):
        with pytest.raises(ValidationError):
            GuestQuery.model_validate(bad)


@pytest.fixture
async def service(served_fake: ServedFake, tmp_path: Path) -> AsyncIterator[InventoryService]:
    """An InventoryService on the seeded fake, through a real PveClient."""
    client = PveClient(pve_connection(app_settings(served_fake, "sqlite://", tmp_path, resources_ttl=60)))
    yield InventoryService(client)
    await client.aclose()


async def test_pages_over_the_seeded_cluster(service: InventoryService, pve: DemoPve) -> None:
    everyone = sorted(g.vmid for g in [*pve.vms, *pve.cts])
    first = await service.list_guests(GuestQuery(per_page=25))
    assert [g.vmid for g in first.rows] == everyone[:25]
    assert (first.total, first.page, first.pages, first.per_page) == (len(everyone), 1, 2, 25)
    last = await service.list_guests(GuestQuery(per_page=25, page=7))
    assert (last.page, [g.vmid for g in last.rows]) == (2, everyone[25:]), "past the end gives the last page"
    assert (last.first, last.last) == (26, len(everyone))
    small = await service.list_guests(GuestQuery(), default_per_page=10)
    assert small.per_page == 10 and len(small.rows) == 10
    assert last.guests_in_cluster == len(everyone) and not last.offline_nodes


async def test_index_is_built_once_per_resources_answer(service: InventoryService) -> None:
    first = await service.index()
    assert await service.index() is first
    service.pve.invalidate_resources()
    assert await service.index() is not first


async def test_find_for_the_header_search(service: InventoryService, pve: DemoPve) -> None:
    web = next(g for g in pve.vms if g.name == "web01")
    assert (await service.find(str(web.vmid))).vmid == web.vmid
    assert (await service.find("Web01")).vmid == web.vmid
    assert (await service.find("prod")).kind == "list"
    assert (await service.find("nothing-at-all")).kind == "none"


def test_hidden_node_states_are_explained() -> None:
    assert "Sys.Audit" in InventoryIndex(resources(guest(100, "a"), nodes=False)).notes[0]
    assert InventoryIndex(CLUSTER).notes == ()
