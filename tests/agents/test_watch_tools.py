"""read_node_log, list_side_door_alerts and acknowledge_side_door_alert with the SDK's client over stdio and
HTTP: the log newest first, paged and filtered, and refused naming Sys.Syslog; the alerts listed, paged and
acknowledged (audited) by an approver, and neither offered nor done for a viewer, an operator or a read-only
server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from app.agents.watch_tools import log_row
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.conftest import Opener
from tests.agents.mcp_client import call, stdio_session, text_of
from tests.agents.side_door_alerts import Alert, alerts_made
from tests.conftest import app_settings
from tests.factories import make_token, make_user
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

ALERT_TOOLS = {"list_side_door_alerts", "acknowledge_side_door_alert"}


@pytest.fixture(scope="module")
def mcp_server(served_fake: ServedFake, settings: Settings) -> Iterator[AppServer]:
    """An app on the same database with /mcp on."""
    server = AppServer(
        app_settings(served_fake, str(settings.database_url), settings.data_dir, mcp_http=True)
    )
    yield server
    server.stop()


@pytest.fixture
def served(request: pytest.FixtureRequest, app_server: AppServer, opener: Opener) -> str:
    """The address the session opens: the shared app for stdio, the one with /mcp on for HTTP."""
    return app_server.url if opener is stdio_session else request.getfixturevalue("mcp_server").url


@pytest.fixture
def alerts(settings: Settings) -> Iterator[list[Alert]]:
    """Three open alerts, for VMs 9791-9793."""
    yield from alerts_made(settings, (9791, 9792, 9793))


@pytest.fixture(scope="module")
def approver(settings: Settings) -> tuple[str, str]:
    """An approver's name and a token made with the approver role."""
    name = make_user(settings, "approver")
    return name, make_token(settings, name, "approver")


async def test_the_log_answers_newest_first_in_pages_and_filtered(
    served: str, opener: Opener, settings: Settings, pve: DemoPve
) -> None:
    said = f"Accepted publickey for root from 10.9.9.9 port {time.time_ns() % 60000}"
    pve.journal_append("pve2", "sshd", said, pid=4242)
    token = make_token(settings, make_user(settings, "viewer"))
    async with httpx.AsyncClient(base_url=served, headers={"Authorization": f"Bearer {token}"}) as web:
        newest = (await web.get("/api/v1/nodes/pve2/log", params={"limit": 6})).json()["items"]
    async with opener(served, token) as session:
        first = await call(session, "read_node_log", node="pve2", limit=3)
        older = await call(session, "read_node_log", node="pve2", limit=3, cursor=first["next_cursor"])
        assert first["items"] + older["items"] == [log_row(e) for e in newest]
        assert first["items"][0].endswith(f"sshd[4242]: {said}") and first["source"] == "journal"
        found = await call(session, "read_node_log", node="pve2", q=said[-20:].upper())
        assert [row.split(" sshd", 1)[1] for row in found["items"]] == [f"[4242]: {said}"]
        daemon = await call(session, "read_node_log", node="pve2", service="pvedaemon", limit=20)
        assert daemon["items"] and all(" pvedaemon[" in row for row in daemon["items"])
        recent = await call(session, "read_node_log", node="pve2", since=str(int(time.time()) - 60))
        assert first["items"][0] in recent["items"] and len(recent["items"]) < 10
        whole = await session.call_tool("read_node_log", {"node": "pve2"})
        assert len((whole.structured_content or {})["items"]) == 100
        assert "100 lines of pve2's journal, newest first" in text_of(whole)


async def test_the_log_is_refused_naming_the_privilege_proxmox_lacks(
    served: str, opener: Opener, settings: Settings, pve: DemoPve
) -> None:
    pve.fail("GET", "/nodes/pve1/journal", 403, "Permission check failed (/nodes/pve1, Sys.Syslog)")
    async with opener(served, make_token(settings, make_user(settings, "viewer"))) as session:
        refused = await session.call_tool("read_node_log", {"node": "pve1"})
    assert refused.is_error
    assert text_of(refused).startswith(
        "Proxgate refused (HTTP 403): The Proxmox API token may not read pve1's system log: it lacks the "
        "Sys.Syslog privilege on /nodes/pve1."
    ), text_of(refused)


async def test_an_approver_lists_and_acknowledges_an_alert_and_the_audit_shows_it(
    served: str, opener: Opener, approver: tuple[str, str], alerts: list[Alert]
) -> None:
    name, token = approver
    target = alerts[1]
    async with opener(served, token) as session:
        offered = {t.name for t in (await session.list_tools()).tools}
        assert offered >= ALERT_TOOLS
        pages, cursor = [], None
        while True:
            page = await call(
                session, "list_side_door_alerts", limit=1, **({"cursor": cursor} if cursor else {})
            )
            pages += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        mine = [a for a in pages if a["key"] in {a.key for a in alerts}]
        assert [a["id"] for a in mine] == [a.id for a in reversed(alerts)]  # newest first
        assert mine[1]["message"] == target.message and mine[1]["acknowledged_by"] is None
        blank = await session.call_tool(
            "acknowledge_side_door_alert", {"alert_id": target.id, "comment": " "}
        )
        assert blank.is_error and "Say what was done about it" in text_of(blank), text_of(blank)
        done = await call(
            session, "acknowledge_side_door_alert", alert_id=target.id, comment="restored from backup"
        )
        assert (done["acknowledged_by"], done["comment"]) == (name, "restored from backup")
        again = await session.call_tool(
            "acknowledge_side_door_alert", {"alert_id": target.id, "comment": "twice"}
        )
        assert again.is_error and text_of(again).startswith("Proxgate conflict (HTTP 409)"), text_of(again)
        still = await call(session, "list_side_door_alerts", limit=500)
        assert target.id not in {a["id"] for a in still["items"]}
        settled = await call(session, "list_side_door_alerts", state="acknowledged", limit=500)
        assert [a["comment"] for a in settled["items"] if a["id"] == target.id] == ["restored from backup"]
    async with httpx.AsyncClient(base_url=served, headers={"Authorization": f"Bearer {token}"}) as web:
        asked = await web.get("/api/v1/audit", params={"operation": "acknowledge", "q": target.key})
    (event,) = [e for e in asked.json()["items"] if e["upid"] == target.key]
    assert event["actor_name"] == name and "restored from backup" in event["message"]
    assert event["user_agent"] == "proxgate-mcp/0.1 (client: test-agent 1.0)"


async def test_a_viewer_or_operator_is_neither_offered_the_alerts_nor_can_acknowledge(
    served: str, opener: Opener, settings: Settings, approver: tuple[str, str], alerts: list[Alert]
) -> None:
    for role in ("viewer", "operator"):
        async with opener(served, make_token(settings, make_user(settings, role))) as session:
            assert not ALERT_TOOLS & {t.name for t in (await session.list_tools()).tools}
            refused = await session.call_tool(
                "acknowledge_side_door_alert", {"alert_id": alerts[0].id, "comment": "not mine to say"}
            )
            assert refused.is_error and text_of(refused) == (
                f"Proxgate refused (HTTP 403): This needs the approver role; you are {role}."
            )
    async with opener(served, approver[1]) as session:
        listed = await call(session, "list_side_door_alerts", limit=500)
    assert {a.id for a in alerts} <= {a["id"] for a in listed["items"] if a["acknowledged_by"] is None}


async def test_a_read_only_server_lists_the_alerts_but_does_not_acknowledge(
    app_server: AppServer, approver: tuple[str, str], alerts: list[Alert]
) -> None:
    async with stdio_session(app_server.url, approver[1], PROXGATE_MCP_READ_ONLY="true") as session:
        offered = {t.name for t in (await session.list_tools()).tools}
        assert "list_side_door_alerts" in offered and "acknowledge_side_door_alert" not in offered
        refused = await session.call_tool(
            "acknowledge_side_door_alert", {"alert_id": alerts[0].id, "comment": "read only"}
        )
        assert refused.is_error and "offers only reads (PROXGATE_MCP_READ_ONLY=true)" in text_of(refused)
        listed = await call(session, "list_side_door_alerts", limit=500)
    assert alerts[0].id in {a["id"] for a in listed["items"]}
