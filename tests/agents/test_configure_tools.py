"""`proxgate ctl configure` and the MCP tool `configure_guest` come from the catalogue alone: the config keys
as options (indexed ones through --set or the tool's key patterns), and they change a guest."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.agents.ctl_parser import body_of
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.mcp_client import call, stdio_session
from tests.agents.test_catalogue_clients import parse
from tests.agents.test_ctl import ctl
from tests.configure_guests import add_ct, add_vm, guests_made
from tests.factories import make_token, make_user
from tests.servers import AppServer


@pytest.fixture
def edits(pve: DemoPve) -> Iterator[None]:
    """A clean 8700-8759 range."""
    yield from guests_made(pve)


def test_ctl_configure_takes_config_keys_and_changes_the_guest(
    app_server: AppServer, settings: Settings, pve: DemoPve, edits: None
) -> None:
    ct = add_ct(pve, 8740)
    token = make_token(settings, make_user(settings, "operator"))
    with httpx.Client(base_url=app_server.url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {token}"}
        catalogue = http.get("/api/v1/operations", params={"limit": 100}, headers=headers).json()["items"]
    args = parse(
        "configure", "8740", "--memory", "1024", "--set", "net1=name=eth1,bridge=vmbr0", operations=catalogue
    )
    assert body_of(args) == {"memory": 1024, "net1": "name=eth1,bridge=vmbr0"}
    ran = ctl(
        app_server,
        token,
        "configure",
        "8740",
        "--hostname",
        "db-8740",
        "--set",
        "net1=name=eth1,bridge=vmbr0",
    )
    assert ran.code == 0, ran.err
    assert ct.config["hostname"] == "db-8740" and ct.config["net1"].startswith("name=eth1,bridge=vmbr0")


async def test_the_mcp_tool_configure_guest_changes_a_vm_and_asks_approval_for_a_removal(
    app_server: AppServer, settings: Settings, pve: DemoPve, edits: None
) -> None:
    vm = add_vm(pve, 8741, status="stopped")
    agent = make_token(settings, make_user(settings, "operator"))
    async with stdio_session(app_server.url, agent) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        schema = tools["configure_guest"].input_schema
        assert {"memory", "delete", "digest"} <= set(schema["properties"]) and "^net[0-9]+$" in schema[
            "patternProperties"
        ]
        changed = await call(
            session, "configure_guest", vmid=8741, cores=4, net2="virtio,bridge=vmbr0", wait=True
        )
        assert changed["status"] == "succeeded", changed
        asked = await call(session, "configure_guest", vmid=8741, delete="net1", reason="no longer routed")
    assert vm.config["cores"] in (4, "4") and vm.config["net2"].startswith("virtio=")
    assert asked["status"] == "pending" and "net1" in vm.config
