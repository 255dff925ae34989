"""An agent takes back its request after a person approved it to run in a maintenance window: the window then
runs nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.services.clock import Clock
from pvesim.fake import DemoPve
from tests.agents.agent_guests import add_vm, guests_made
from tests.agents.mcp_client import call, stdio_session
from tests.conftest import app_settings
from tests.factories import make_token, make_user
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

TAG = f"agent-win-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def windowed(served_fake: ServedFake, database_url: str, tmp_path: Path, pve: DemoPve) -> Iterator[AppServer]:
    """An app whose resizes of the tag's guests run only on Saturdays from 02:00, its clock 90 minutes before,
    and VM 9760 with the tag."""
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'[[window]]\nname = "maintenance"\noperations = ["resize"]\ntags = ["{TAG}"]\n'
        'cron = "0 2 * * SAT"\nhours = 4\n'
    )
    for _clean in guests_made(pve):
        add_vm(pve, 9760, "agent-window", tags=TAG)
        server = AppServer(app_settings(served_fake, database_url, tmp_path, policy_file=policy))
        clock: Clock = server.app.state.runtime.approvals.policy.clock
        now = datetime.now(UTC)
        days = (5 - now.weekday()) % 7 or 7
        clock.offset = (now + timedelta(days=days)).replace(hour=0, minute=30, second=0, microsecond=0) - now
        try:
            yield server
        finally:
            server.stop()


async def test_an_agent_cancels_its_scheduled_request(windowed: AppServer, pve: DemoPve) -> None:
    settings = windowed.app.state.runtime.settings
    agent = make_token(settings, make_user(settings, "operator"))
    approver = {
        "Authorization": f"Bearer {make_token(settings, make_user(settings, 'approver'), 'approver')}"
    }
    seen = len(pve.requests)
    async with (
        stdio_session(windowed.url, agent) as session,
        httpx.AsyncClient(base_url=windowed.url, timeout=30) as client,
    ):
        asked = await call(session, "resize_guest", vmid=9760, disk="scsi0", size="8G", reason="grow it")
        rid = asked["request_id"]
        approved = (await client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=approver)).json()
        assert approved["status"] == "scheduled", approved
        cancelled = await call(session, "cancel_request", request_id=rid)
        assert cancelled["status"] == "cancelled"
        windowed.app.state.runtime.approvals.policy.clock.move(timedelta(hours=2))
        await asyncio.sleep(4.5)  # two rounds of the window runner
        assert (await client.get(f"/api/v1/requests/{rid}", headers=approver)).json()["status"] == "cancelled"
    assert not [r for r in pve.requests[seen:] if r[0] == "PUT" and r[1].endswith("/qemu/9760/resize")]
