"""The MCP server at /mcp of a running app (PROXGATE_MCP_HTTP=true): the same tools and gates over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.agents.tool_names import tool_name
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.agent_guests import add_ct, add_vm, guests_made
from tests.agents.mcp_client import call, http_session, text_of
from tests.backup_guests import FakeApi
from tests.conftest import app_settings
from tests.factories import make_token, make_user
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer


@pytest.fixture(scope="module")
def mcp_server(served_fake: ServedFake, settings: Settings) -> Iterator[AppServer]:
    """A second app on the same database and data, with /mcp switched on."""
    server = AppServer(
        app_settings(served_fake, str(settings.database_url), settings.data_dir, mcp_http=True)
    )
    yield server
    server.stop()


@pytest.fixture
async def web(mcp_server: AppServer) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client of that app."""
    async with httpx.AsyncClient(base_url=mcp_server.url, timeout=30) as http:
        yield http


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """VM 9761 (stopped: to start) and CT 9762 (stopped: to delete)."""
    for made in guests_made(pve):
        add_vm(pve, 9761, "http-start")
        add_ct(pve, 9762, "http-delete")
        time.sleep(0.6)  # past the app's cached cluster view
        yield made


async def test_mcp_is_off_unless_enabled_and_refused_without_a_good_token(
    app_server: AppServer, web: httpx.AsyncClient, settings: Settings
) -> None:
    async with httpx.AsyncClient(base_url=app_server.url) as off:
        assert (await off.post("/mcp", json={})).status_code == 404
    anonymous = await web.post("/mcp", json={})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "API token" in anonymous.json()["detail"]
    wrong = await web.post("/mcp", json={}, headers={"Authorization": "Bearer pxg_wrong"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["detail"]


async def test_the_same_story_over_http(
    mcp_server: AppServer, web: httpx.AsyncClient, settings: Settings, pve: DemoPve, guests: None
) -> None:
    agent = make_token(settings, make_user(settings, "operator"))
    approver = {
        "Authorization": f"Bearer {make_token(settings, make_user(settings, 'approver'), 'approver')}"
    }
    viewer = make_token(settings, make_user(settings, "viewer"))
    catalogue = (await web.get("/api/v1/operations", headers=approver)).json()["items"]
    # The agent's traffic passes a proxy the app trusts (PROXGATE_TRUSTED_PROXIES=127.0.0.1 in the tests).
    async with http_session(mcp_server.url, agent, **{"X-Forwarded-For": "203.0.113.9"}) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {tool_name(op["name"]) for op in catalogue} <= set(tools) and "list_guests" in tools
        found = await call(session, "list_guests", q="http-")
        assert {g["vmid"] for g in found["items"]} == {9761, 9762}
        started = await call(session, "start_guest", vmid=9761, wait=True, wait_seconds=30)
        assert started["status"] == "succeeded" and started["task"]["exitstatus"] == "OK"
        asked = await call(session, "delete_guest", vmid=9762, reason="done over HTTP")
        assert asked["status"] == "pending" and asked["url"].startswith(mcp_server.url)
        rid = asked["request_id"]
        approved = await web.post(
            f"/api/v1/requests/{rid}/approve", json={"confirm": "9762"}, headers=approver
        )
        assert approved.status_code == 200, approved.text
        waited = await call(session, "wait_request", request_id=rid, wait_seconds=30)
        assert waited["status"] == "succeeded"
    assert pve.vm(9761).status == "running" and pve.ct(9762) is None
    events = (await web.get("/api/v1/audit", params={"vmid": 9761}, headers=approver)).json()["items"]
    intent = next(e for e in events if e["outcome"] == "intent" and e["operation"] == "start")
    assert intent["user_agent"] == "proxgate-mcp/0.1 (client: test-agent 1.0)"
    assert intent["source_ip"] == "203.0.113.9" and intent["auth_method"] == "token"
    async with http_session(mcp_server.url, viewer) as session:
        refused = await session.call_tool("stop_guest", {"vmid": 9761})
        assert refused.is_error and "Proxgate refused (HTTP 403)" in text_of(refused)
        assert "operator role" in text_of(refused)


async def test_an_mcp_session_answers_only_the_token_that_opened_it(
    mcp_server: AppServer, web: httpx.AsyncClient, settings: Settings
) -> None:
    mine, theirs = (make_token(settings, make_user(settings, "operator")) for _ in range(2))
    ids: list[str] = []
    listing = {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}
    async with http_session(mcp_server.url, mine, session_ids=ids) as session:
        assert ids, "the SDK's client works in an MCP session"
        taken = {
            "Accept": "application/json, text/event-stream",
            "Mcp-Session-Id": ids[0],
            "Mcp-Protocol-Version": "2025-11-25",
        }
        other = await web.post("/mcp", json=listing, headers={**taken, "Authorization": f"Bearer {theirs}"})
        assert other.status_code == 404 and "Session not found" in other.text
        anonymous = await web.post("/mcp", json=listing, headers=taken)
        assert anonymous.status_code == 401
        ended = await web.delete("/mcp", headers={**taken, "Authorization": f"Bearer {theirs}"})
        assert ended.status_code == 404
        # The session is untouched: its own token goes on using it.
        assert "list_guests" in {t.name for t in (await session.list_tools()).tools}
        own = await web.post("/mcp", json=listing, headers={**taken, "Authorization": f"Bearer {mine}"})
        assert own.status_code == 200 and "list_guests" in own.text


async def test_an_agent_is_not_offered_an_address_given_in_proxmox_a_moment_ago(
    mcp_server: AppServer, settings: Settings, pve: DemoPve, fake_api: FakeApi, guests: None
) -> None:
    add_ct(pve, 9763, "http-holder", net0="name=eth0,bridge=vmbr0,ip=10.97.2.1/29")
    await asyncio.sleep(0.6)  # past the app's cached cluster view
    template = next(n for n, v in pve.storages["local"]["volumes"].items() if v.get("content") == "vztmpl")
    agent = make_token(settings, make_user(settings, "operator"))
    async with http_session(mcp_server.url, agent) as session:
        warm = await call(session, "list_free_ips", cidr="10.97.2.0/29")
        assert warm["free"][:2] == ["10.97.2.2", "10.97.2.3"]
        # A person gives the container a second address in the Proxmox UI, right after the agent looked.
        net1 = "name=eth1,bridge=vmbr0,ip=10.97.2.2/29"
        fake_api.data("PUT", "/nodes/pve2/lxc/9763/config", data={"net1": net1})
        again = await call(session, "list_free_ips", cidr="10.97.2.0/29")
        assert again["free"][0] == "10.97.2.3" and "10.97.2.2" not in again["free"]
        create = {
            "node": "pve1",
            "vmid": 9764,
            "hostname": "http-second",
            "ostemplate": f"local:{template}",
            "rootfs_storage": "local-lvm",
            "ip": "10.97.2.2/29",
            "password": "s3cret-pass",
        }
        refused = await session.call_tool("create_ct", create)
        assert refused.is_error and "10.97.2.2 is used by 9763 (http-holder, stopped)" in text_of(refused)
        assert "allow_ip_reuse" in text_of(refused)
    assert pve.ct(9764) is None
