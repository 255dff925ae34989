"""`proxgate ctl migrate` and the MCP tool `migrate_guest` come from the catalogue alone, with its parameters, and
move a guest."""

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
from tests.factories import make_token, make_user
from tests.migrate_guests import SHARED_VM, STOPPED_VM, migration_guests
from tests.servers import AppServer

PARAMETERS = {"target", "online", "with_local_disks", "target_storage"}


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """The migration test guests on pve1 (9650-9669)."""
    yield from migration_guests(pve)


def test_ctl_has_a_migrate_command_with_the_catalogues_parameters(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    token = make_token(settings, make_user(settings, "operator"))
    with httpx.Client(base_url=app_server.url, timeout=30) as http:
        catalogue = http.get("/api/v1/operations", headers={"Authorization": f"Bearer {token}"}).json()[
            "items"
        ]
    [op] = [o for o in catalogue if o["name"] == "migrate"]
    assert set(op["parameters"]["properties"]) == PARAMETERS and op["parameters"]["required"] == ["target"]
    assert op["risk"] == "reversible" and op["needs_approval"] is False

    args = parse(
        "migrate", "100", "pve2", "--with-local-disks", "--target-storage", "local-lvm", operations=catalogue
    )
    assert body_of(args) == {"target": "pve2", "with_local_disks": True, "target_storage": "local-lvm"}
    ran = ctl(app_server, token, "migrate", str(STOPPED_VM), "pve2", "--wait")
    assert ran.code == 0, ran.err
    assert pve.vm(STOPPED_VM).node == "pve2"


async def test_the_mcp_tool_migrate_takes_the_parameters_and_moves_a_vm(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    agent = make_token(settings, make_user(settings, "operator"))
    async with stdio_session(app_server.url, agent) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        schema = tools["migrate_guest"].input_schema
        assert set(schema["properties"]) >= PARAMETERS and {"vmid", "target"} <= set(schema["required"])
        assert "reversible" in (tools["migrate_guest"].description or "")
        moved = await call(
            session, "migrate_guest", vmid=SHARED_VM, target="pve3", wait=True, wait_seconds=30
        )
    assert moved["status"] == "succeeded" and moved["task"]["exitstatus"] == "OK"
    assert pve.vm(SHARED_VM).node == "pve3"
