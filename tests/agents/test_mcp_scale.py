"""The MCP tools on the 2,000-guest demo cluster (tests/agents/big_cluster.py), over stdio and over HTTP:
every answer stays small enough for a model's context, every listing pages by cursor to the whole list, an
unknown node is named, and the reads the API had and MCP lacked are there. The cluster has its own SQLite
database, so CI runs these once (database_free)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.agents.big_cluster import Big
from tests.agents.conftest import Opener
from tests.agents.mcp_client import call, text_of
from tests.factories import make_token, make_user

pytestmark = pytest.mark.database_free
# No answer above this many characters (the tools/call result as sent) unless a larger limit is asked for.
MOST = 20_000
# The text beside the structured content: a line or two, not the JSON again.
SUMMARY = 600
NODES = "There is no node '2'; choose one of: pve1, pve2, pve3, pve4."
Key = Callable[[dict[str, Any]], Any]


def calls(big: Big) -> list[tuple[str, dict[str, Any]]]:
    """A call of every read tool, as an agent would make it first."""
    vm = next(v for v in big.pve.vms if not v.template)
    return [
        ("get_identity", {}),
        ("get_cluster", {}),
        ("list_guests", {}),
        ("list_guests", {"q": "web"}),
        ("get_guest", {"vmid": vm.vmid}),
        ("get_node", {"node": "pve1"}),
        ("list_snapshots", {"vmid": vm.vmid}),
        ("list_ips", {}),
        ("list_ips", {"prefix": "10.0.10."}),
        ("list_ips", {"node": "pve2", "status": "running"}),
        ("list_free_ips", {"cidr": "10.0.10.0/24"}),
        ("list_free_ips", {"cidr": "10.0.10.0/24", "limit": 1}),
        ("list_free_ips", {"cidr": "10.0.0.0/16"}),
        ("list_backups", {}),
        ("list_backups", {"newest": True}),
        ("list_unbacked_guests", {}),
        ("list_storage", {}),
        ("list_storage_content", {"node": "pve1", "storage": "local"}),
        ("list_tasks", {}),
        ("list_audit", {}),
        ("list_my_requests", {}),
        ("read_node_log", {"node": "pve1"}),
        ("read_node_log", {"node": "pve2", "service": "pvedaemon"}),
    ]


async def test_every_answer_fits_a_context_and_comes_once(big: Big, opener: Opener) -> None:
    async with opener(big.server.url, big.token) as session:
        listed = await session.list_tools()
        # The tool list does not grow with the cluster but with the catalogue, about 1 KB a tool (49 KB for 50
        # tools once configure, bulk work, node maintenance and downloads came), and comes once a session.
        size = len(listed.model_dump_json(by_alias=True, exclude_none=True))
        assert size < 1_200 * len(listed.tools) and size < 60_000, (size, len(listed.tools))
        assert all(tool.output_schema for tool in listed.tools)
        for name, arguments in calls(big):
            result = await session.call_tool(name, arguments)
            assert not result.is_error, (name, text_of(result))
            size = len(result.model_dump_json(by_alias=True, exclude_none=True))
            assert size <= MOST, (name, arguments, size)
            assert result.structured_content and len(text_of(result)) <= SUMMARY, (name, text_of(result))
        more = await call(session, "list_ips", limit=200)
        assert len(more["items"]) == 200, "a larger limit asked for is a larger answer"
    # An admin is offered every tool: the side-door alerts too.
    admin = make_token(big.settings, make_user(big.settings, "admin"), "admin")
    async with opener(big.server.url, admin) as session:
        listed = await session.list_tools()
        size = len(listed.model_dump_json(by_alias=True, exclude_none=True))
        assert "acknowledge_side_door_alert" in {tool.name for tool in listed.tools}
        assert size < 1_200 * len(listed.tools) and size < 60_000, (size, len(listed.tools))


def listings(big: Big) -> list[tuple[str, dict[str, Any], str, Key]]:
    """(tool, arguments, the API's path of the same list, what tells its items apart)."""
    snapped = max(big.pve.vms, key=lambda v: len(v.snapshots))
    by = {
        "vmid": lambda i: i["vmid"],
        "volid": lambda i: i["volid"],
        "upid": lambda i: i["upid"],
        "name": lambda i: i["name"],
    }
    return [
        ("list_guests", {}, "/api/v1/guests", by["vmid"]),
        ("list_guests", {"node": "pve2", "status": "running"}, "/api/v1/guests", by["vmid"]),
        ("list_ips", {"prefix": "10.0."}, "/api/v1/ips", lambda i: (i["address"], i["vmid"])),
        ("list_ips", {"node": "pve1"}, "/api/v1/ips", lambda i: (i["address"], i["vmid"])),
        ("list_snapshots", {"vmid": snapped.vmid}, f"/api/v1/guests/{snapped.vmid}/snapshots", by["name"]),
        ("list_backups", {}, "/api/v1/backups", by["volid"]),
        ("list_backups", {"newest": True}, "/api/v1/backups", by["volid"]),
        ("list_unbacked_guests", {}, "/api/v1/backups/not-backed-up", by["vmid"]),
        ("list_storage", {}, "/api/v1/storage", lambda i: (i["storage"], i["node"])),
        (
            "list_storage_content",
            {"node": "pve1", "storage": "local"},
            "/api/v1/storage/pve1/local/content",
            by["volid"],
        ),
        ("list_tasks", {}, "/api/v1/tasks", by["upid"]),
        ("list_audit", {"operation": "start"}, "/api/v1/audit", lambda e: e["seq"]),
        ("list_my_requests", {}, "/api/v1/requests", lambda r: r["id"]),
    ]


async def test_every_listing_pages_by_cursor_to_the_whole_list(big: Big, opener: Opener) -> None:
    async with opener(big.server.url, big.token) as session:
        for name, arguments, path, key in listings(big):
            query = {k: v for k, v in arguments.items() if k != "vmid"}
            whole = [key(i) for i in big.whole(path, **query)]
            assert len(whole) >= 3, (name, arguments)
            size, pages, seen, cursor = min(500, max(1, len(whole) // 3)), 0, [], None
            while True:
                page = await call(
                    session, name, **arguments, limit=size, **({"cursor": cursor} if cursor else {})
                )
                assert page["total"] == len(whole) and len(page["items"]) <= size
                seen += [key(i) for i in page["items"]]
                pages, cursor = pages + 1, page["next_cursor"]
                if cursor is None:
                    break
            assert seen == whole and pages >= 3, (name, arguments)


async def test_free_addresses_page_by_cursor(big: Big, opener: Opener) -> None:
    with big.api() as api:
        whole = api.get("/api/v1/ips/free", params={"cidr": "10.0.10.0/24", "limit": 4096}).json()["free"]
    async with opener(big.server.url, big.token) as session:
        seen, cursor = [], None
        while True:
            page = await call(
                session,
                "list_free_ips",
                cidr="10.0.10.0/24",
                limit=40,
                **({"cursor": cursor} if cursor else {}),
            )
            seen += page["free"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == whole and len(whole) > 40


async def test_an_unknown_node_is_refused_naming_the_nodes(big: Big, opener: Opener) -> None:
    async with opener(big.server.url, big.token) as session:
        for name in ("list_guests", "list_tasks", "list_ips", "list_storage"):
            refused = await session.call_tool(name, {"node": "2"})
            assert refused.is_error and text_of(refused) == f"Proxgate invalid (HTTP 422): {NODES}", name
        missing = await session.call_tool("get_node", {"node": "2"})
        assert missing.is_error and text_of(missing) == f"Proxgate not found (HTTP 404): {NODES}"


async def test_the_reads_the_api_had_and_the_tools_lacked(big: Big, opener: Opener) -> None:
    on_pve1 = [g for g in [*big.pve.vms, *big.pve.cts] if g.node == "pve1"]
    async with opener(big.server.url, big.token) as session:
        node = await call(session, "get_node", node="pve1")
        assert node["status"] == "online" and node["guests"]["templates"] == sum(g.template for g in on_pve1)
        assert len(node["guests"]["vmids"]) == min(100, len(on_pve1))
        templates = await call(
            session, "list_storage_content", node="pve1", storage="local", content="vztmpl"
        )
        assert templates["items"] and all(v["volid"].startswith("local:vztmpl/") for v in templates["items"])
        isos = await call(session, "list_storage_content", node="pve1", storage="local", content="iso")
        assert isos["items"] and all(v["content"] == "iso" for v in isos["items"])
        clonable = await call(session, "list_guests", template="yes", limit=500)
        assert clonable["items"] and all(g["template"] for g in clonable["items"])
        events = await call(session, "list_audit", operation="start", outcome="succeeded", limit=500)
        assert len(events["items"]) == 4 and all(e["operation"] == "start" for e in events["items"])
        uncovered = await call(session, "list_unbacked_guests", limit=500)
        assert [g["vmid"] for g in uncovered["items"]] == [
            g["vmid"] for g in big.whole("/api/v1/backups/not-backed-up")
        ]
        task = await call(session, "get_task", upid=events["items"][0]["upid"], log_lines=1)
        assert task["exitstatus"] == "OK" and task["log"] == task["log"][-1:]
