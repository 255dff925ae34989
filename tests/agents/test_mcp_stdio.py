"""`proxgate mcp` on stdio, driven by the MCP SDK's own client against the app on the demo cluster."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.agents.tool_names import tool_name
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.agent_guests import add_ct, add_vm, guests_made
from tests.agents.mcp_client import PROXGATE, call, mcp_env, stdio_session, text_of
from tests.factories import make_token, make_user
from tests.servers import AppServer


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """VM 9751 (stopped: to start) and CT 9752 (stopped: to delete) in a clean 9700-9799 range."""
    for made in guests_made(pve):
        add_vm(pve, 9751, "mcp-start")
        add_ct(pve, 9752, "mcp-delete")
        time.sleep(0.6)  # past the app's cached cluster view
        yield made


async def audit_agents(client: httpx.AsyncClient, headers: dict[str, str], vmid: int) -> set[str]:
    """The user agents of the guest's audit events."""
    events = (await client.get("/api/v1/audit", params={"vmid": vmid}, headers=headers)).json()["items"]
    return {e["user_agent"] for e in events}


@pytest.fixture
async def web(app_server: AppServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app for the second person."""
    async with httpx.AsyncClient(base_url=app_server.url, timeout=30) as http:
        yield http


async def test_an_agent_reads_starts_and_asks_a_person_to_delete(
    app_server: AppServer, web: httpx.AsyncClient, settings: Settings, pve: DemoPve, guests: None
) -> None:
    agent = make_token(settings, make_user(settings, "operator"))
    approver = {
        "Authorization": f"Bearer {make_token(settings, make_user(settings, 'approver'), 'approver')}"
    }
    catalogue = (await web.get("/api/v1/operations", headers=approver)).json()["items"]
    async with stdio_session(app_server.url, agent) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        for op in catalogue:
            schema = tools[tool_name(op["name"])].input_schema
            assert set(op["parameters"]["properties"]) <= set(schema["properties"])
            assert set(op["parameters"].get("required", [])) <= set(schema["required"])
            assert ("reason" in schema["required"]) is op["needs_approval"]
            assert op["risk"] in (tools[tool_name(op["name"])].description or "")

        found = await call(session, "list_guests", q="mcp-")
        assert {g["vmid"] for g in found["items"]} == {9751, 9752}
        detail = await call(session, "get_guest", vmid=9751)
        assert detail["status"] == "stopped" and "start" in detail["operations"]

        started = await call(session, "start_guest", vmid=9751, wait=True, wait_seconds=30)
        assert started["status"] == "succeeded" and started["task"]["exitstatus"] == "OK"
        assert ":qmstart:9751:" in started["upid"] and pve.vm(9751).status == "running"

        asked = await call(session, "delete_guest", vmid=9752, reason="the test is over")
        assert asked["status"] == "pending" and asked["url"].endswith(f"/approvals/{asked['request_id']}")
        assert pve.ct(9752) is not None
        rid = asked["request_id"]
        mine = await call(session, "list_my_requests", status="pending")
        assert rid in [r["id"] for r in mine["items"]]

        approved = await web.post(
            f"/api/v1/requests/{rid}/approve", json={"confirm": "9752"}, headers=approver
        )
        assert approved.status_code == 200, approved.text
        waited = await call(session, "wait_request", request_id=rid, wait_seconds=30)
        assert waited["status"] == "succeeded" and waited["result"]["exitstatus"] == "OK"
    assert pve.ct(9752) is None
    assert "proxgate-mcp/0.1 (client: test-agent 1.0)" in await audit_agents(web, approver, 9751)


async def test_a_viewer_is_refused_every_change_and_errors_are_plain_words(
    app_server: AppServer, settings: Settings, guests: None
) -> None:
    viewer = make_token(settings, make_user(settings, "viewer"))
    async with stdio_session(app_server.url, viewer) as session:
        for name, arguments in (
            ("start_guest", {"vmid": 9751}),
            ("delete_guest", {"vmid": 9752, "reason": "no"}),
            ("create_vm", {"node": "pve1", "name": "agent-made", "disk_storage": "local-lvm"}),
        ):
            result = await session.call_tool(name, arguments)
            assert result.is_error and "Proxgate refused (HTTP 403)" in text_of(result), text_of(result)
            assert "operator role" in text_of(result) and "Traceback" not in text_of(result)
        missing = await session.call_tool("start_guest", {})
        assert missing.is_error and "'vmid' is a required property" in text_of(missing)
        unknown = await session.call_tool("get_guest", {"vmid": 9799})
        assert unknown.is_error and "There is no guest 9799" in text_of(unknown)


def test_a_wrong_token_stops_the_server_at_start_saying_so(app_server: AppServer) -> None:
    wrong = subprocess.run(  # noqa: S603
        [PROXGATE, "mcp"],
        env=mcp_env(app_server.url, "pxg_not-a-token"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 4, wrong.stderr
    assert f"Proxgate at {app_server.url} refuses PROXGATE_TOKEN" in wrong.stderr
    assert "unknown or revoked" in wrong.stderr and "Traceback" not in wrong.stderr
    down = subprocess.run(  # noqa: S603
        [PROXGATE, "mcp"],
        env=mcp_env("http://127.0.0.1:9", "pxg_x"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1 and "cannot reach Proxgate" in down.stderr


async def test_every_read_tool_answers_from_the_api(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    agent = make_token(settings, make_user(settings, "operator"))
    async with stdio_session(app_server.url, agent) as session:
        assert (await call(session, "get_identity"))["role"] == "operator"
        status = await call(session, "get_cluster")
        assert status["cluster"]["nodes_total"] == len(status["nodes"]) == len(pve.nodes)
        snaps = await call(session, "list_snapshots", vmid=9751)
        assert [s["name"] for s in snaps["items"]] == ["current"]
        storage = await call(session, "list_storage", node="pve1")
        assert "local-lvm" in {s["storage"] for s in storage["items"]}
        backups = await call(session, "list_backups", newest=True)
        assert backups["items"] and all(
            b["volid"].split(":", 1)[1].startswith("backup/") for b in backups["items"]
        )
        free = await call(session, "list_free_ips", cidr="10.97.0.0/29", limit=3)
        assert free["cidr"] == "10.97.0.0/29" and len(free["free"]) <= 3
        assert "items" in await call(session, "list_ips", prefix="10.")
        started = await call(session, "snapshot_guest", vmid=9751, snapname="agent-first")
        task = await call(session, "wait_task", upid=started["upid"], wait_seconds=30)
        assert task["exitstatus"] == "OK" and (await call(session, "get_task", upid=started["upid"]))["log"]
        recent = await call(session, "list_tasks", guest=9751, limit=5)
        assert started["upid"] in [t["upid"] for t in recent["items"]]
        asked = await call(session, "rollback_guest", vmid=9751, snapname="agent-first", reason="try it")
        assert (await call(session, "get_request", request_id=asked["request_id"]))["status"] == "pending"
        cancelled = await call(session, "cancel_request", request_id=asked["request_id"])
        assert cancelled["status"] == "cancelled"
        assert (await call(session, "list_my_requests", status="cancelled"))["items"][0]["id"] == asked[
            "request_id"
        ]
