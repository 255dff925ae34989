"""What the MCP server offers a caller and what it answers about a change that waits: the tools its role may
use (all named one way), reads only on a read-only server, what a pending change would lose, the operations
that fit the guest, the caller's own requests in short, and the progress of a wait, over both transports."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from app.agents.tool_names import tool_name
from app.agents.toolbox import READ_TOOLS
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.agent_guests import add_vm, guests_made
from tests.agents.mcp_client import call, http_session, stdio_session, text_of
from tests.conftest import app_settings
from tests.factories import make_token, make_user
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

# Every tool: snake_case, a verb and what it acts on.
NAMED = re.compile(r"^[a-z]+(_[a-z]+)+$")
# The reads every role is offered (the side-door alerts are an approver's).
READS = {tool.name for tool in READ_TOOLS if tool.read_only and tool.roles is None}


@pytest.fixture(scope="module")
def read_only_server(served_fake: ServedFake, settings: Settings) -> Iterator[AppServer]:
    """An app on the same database with /mcp on and PROXGATE_MCP_READ_ONLY=true."""
    server = AppServer(
        app_settings(
            served_fake, str(settings.database_url), settings.data_dir, mcp_http=True, mcp_read_only=True
        )
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp_server(served_fake: ServedFake, settings: Settings) -> Iterator[AppServer]:
    """An app on the same database with /mcp on."""
    server = AppServer(
        app_settings(served_fake, str(settings.database_url), settings.data_dir, mcp_http=True)
    )
    yield server
    server.stop()


@pytest.fixture
def guest(pve: DemoPve) -> Iterator[int]:
    """VM 9753: stopped, a 4 GiB disk, no snapshots."""
    for made in guests_made(pve):
        add_vm(pve, 9753, "offer-vm")
        time.sleep(0.6)  # past the app's cached cluster view
        yield 9753
        del made


async def test_a_viewer_is_offered_the_reads_and_an_operator_every_tool_named_one_way(
    app_server: AppServer, settings: Settings, pve: DemoPve, guest: int
) -> None:
    operator = make_user(settings, "operator")
    catalogue = {tool_name(op) for op in ("start", "delete", "create-vm", "delete-snapshot", "rollback")}
    async with stdio_session(app_server.url, make_token(settings, operator)) as session:
        every = {t.name for t in (await session.list_tools()).tools}
    assert catalogue | READS | {"cancel_request"} <= every
    assert all(NAMED.match(name) for name in every), sorted(n for n in every if not NAMED.match(n))
    # A viewer's token, and an operator's token made with the viewer role: what they may use, nothing else.
    for token in (
        make_token(settings, make_user(settings, "viewer")),
        make_token(settings, operator, "viewer"),
    ):
        async with stdio_session(app_server.url, token) as session:
            assert {t.name for t in (await session.list_tools()).tools} == READS
            refused = await session.call_tool("start_guest", {"vmid": guest})
            assert refused.is_error and "Proxgate refused (HTTP 403)" in text_of(refused)
    assert pve.vm(guest).status == "stopped"


async def test_a_read_only_server_offers_and_runs_only_reads(
    app_server: AppServer, read_only_server: AppServer, settings: Settings, pve: DemoPve, guest: int
) -> None:
    token = make_token(settings, make_user(settings, "operator"))
    opened = (
        stdio_session(app_server.url, token, PROXGATE_MCP_READ_ONLY="true"),
        http_session(read_only_server.url, token),
    )
    for opening in opened:
        async with opening as session:
            assert {t.name for t in (await session.list_tools()).tools} == READS
            refused = await session.call_tool("start_guest", {"vmid": guest})
            assert refused.is_error and "offers only reads (PROXGATE_MCP_READ_ONLY=true)" in text_of(refused)
            assert (await call(session, "get_guest", vmid=guest))["status"] == "stopped"
    assert pve.vm(guest).status == "stopped"


async def test_a_pending_change_says_what_it_would_lose_and_a_wait_reports_progress(
    app_server: AppServer, mcp_server: AppServer, settings: Settings, pve: DemoPve, guest: int
) -> None:
    token = make_token(settings, make_user(settings, "operator"))
    heard: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        heard.append((done, total, message))

    for opening in (stdio_session(app_server.url, token), http_session(mcp_server.url, token)):
        async with opening as session:
            detail = await call(session, "get_guest", vmid=guest)
            assert "snapshot" in detail["operations"] and "rollback" not in detail["operations"]
            asked = await session.call_tool("delete_guest", {"vmid": guest, "reason": "offer test"})
            answer = asked.structured_content or {}
            assert answer["status"] == "pending" and answer["would_lose"], answer
            assert answer["would_lose"][0] == f"Disk scsi0: local-lvm:vm-{guest}-disk-0 (4 GiB) is destroyed"
            assert "Once approved, this is lost: Disk" in text_of(asked)
            mine = await call(session, "list_my_requests", status="pending")
            assert [r["id"] for r in mine["items"]] == [answer["request_id"]]
            assert (
                "preview" not in mine["items"][0] and mine["items"][0]["would_lose"] == answer["would_lose"]
            )
            heard.clear()
            waited = await session.call_tool(
                "wait_request",
                {"request_id": answer["request_id"], "wait_seconds": 2},
                progress_callback=progress,
            )
            assert (waited.structured_content or {})["status"] == "pending"
            assert heard and all(total == 2 for _, total, _ in heard), heard
            assert f"Request {answer['request_id']} (delete {guest}): pending" in str(heard[-1][2])
            await call(session, "cancel_request", request_id=answer["request_id"])
    assert pve.vm(guest) is not None


async def test_a_rejection_reaches_the_agent_with_the_approvers_words(
    app_server: AppServer, settings: Settings, guest: int
) -> None:
    token = make_token(settings, make_user(settings, "operator"))
    approver = make_user(settings, "approver")
    bearer = {"Authorization": f"Bearer {make_token(settings, approver, 'approver')}"}
    async with stdio_session(app_server.url, token) as session:
        asked = await call(session, "delete_guest", vmid=guest, reason="rejection test")
        async with httpx.AsyncClient(base_url=app_server.url, headers=bearer) as web:
            said = await web.post(
                f"/api/v1/requests/{asked['request_id']}/reject", json={"comment": "not today"}
            )
            assert said.status_code == 200, said.text
        waited = await session.call_tool(
            "wait_request", {"request_id": asked["request_id"], "wait_seconds": 10}
        )
    assert (waited.structured_content or {})["status"] == "rejected"
    assert f"Rejected by {approver}: not today." in text_of(waited)


async def test_a_change_tool_called_with_bad_arguments_is_refused_by_the_api_and_audited(
    app_server: AppServer, settings: Settings, pve: DemoPve, guest: int
) -> None:
    token = make_token(settings, make_user(settings, "operator"))
    async with stdio_session(app_server.url, token) as session:
        wrong = await session.call_tool(
            "snapshot_guest", {"vmid": guest, "snapname": "ok-name", "colour": "red"}
        )
        assert wrong.is_error and text_of(wrong).startswith("Proxgate invalid (HTTP 422)"), text_of(wrong)
        typed = await session.call_tool("snapshot_guest", {"vmid": guest, "snapname": 7})
        assert typed.is_error and "snapname" in text_of(typed), text_of(typed)
    async with httpx.AsyncClient(
        base_url=app_server.url, headers={"Authorization": f"Bearer {token}"}
    ) as web:
        events = (await web.get("/api/v1/audit", params={"vmid": guest, "outcome": "invalid"})).json()[
            "items"
        ]
    refused = [e for e in events if e["operation"] == "snapshot"]
    assert len(refused) == 2 and all(
        e["user_agent"] == "proxgate-mcp/0.1 (client: test-agent 1.0)" for e in refused
    )
    assert not pve.vm(guest).snapshots


async def test_calls_the_server_refuses_itself_are_audited_with_the_agents_name(
    app_server: AppServer, settings: Settings, guest: int
) -> None:
    name = make_user(settings, "operator")
    token = make_token(settings, name)
    async with stdio_session(app_server.url, token) as session:
        unknown = await session.call_tool("delete", {"vmid": guest, "reason": "an old tool name"})
        assert unknown.is_error and text_of(unknown).startswith("There is no tool 'delete'")
        wrong = await session.call_tool("get_guest", {"vmid": "a hundred"})
        assert wrong.is_error and text_of(wrong).startswith("Invalid arguments (vmid)")
    async with httpx.AsyncClient(
        base_url=app_server.url, headers={"Authorization": f"Bearer {token}"}
    ) as web:
        mine = (await web.get("/api/v1/audit", params={"actor": name, "outcome": "invalid"})).json()["items"]
    assert {(e["operation"], e["vmid"], e["message"][:21]) for e in mine} == {
        ("delete", guest, "There is no tool 'del"),
        ("get_guest", None, "Invalid arguments (vm"),
    }
    assert {e["user_agent"] for e in mine} == {"proxgate-mcp/0.1 (client: test-agent 1.0)"}
    assert all(e["risk"] == "unknown" for e in mine)
