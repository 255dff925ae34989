"""Bulk actions for agents: `proxgate ctl bulk` / `batch` / `wait` and the MCP tools run_bulk, get_batch and
wait_batch, each the same /api/v1/bulk a person's click uses."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import redirect_stdout

import httpx
import pytest

from app.agents.api import ApiConfig
from app.agents.cli import run_ctl
from app.cli import build_parser
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.mcp_client import call, stdio_session, text_of
from tests.agents.test_ctl import Tokens, ctl
from tests.approval_guests import sent
from tests.bulk_guests import add_vms, bulk_guests
from tests.dropping_proxy import DroppingProxy
from tests.factories import make_token, make_user, run_async
from tests.servers import AppServer


@pytest.fixture(scope="module")
def tokens(settings: Settings) -> Tokens:
    """One user of each role that acts, each with a token of that role."""
    return Tokens(
        *(
            make_token(settings, make_user(settings, role), role)
            for role in ("operator", "approver", "viewer")
        )
    )


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range."""
    yield from bulk_guests(pve)


def running(pve: DemoPve, vmids: list[int]) -> list[int]:
    """The guests Proxmox has running."""
    return [vm.vmid for vm in pve.vms if vm.vmid in vmids and vm.status == "running"]


def test_ctl_bulk_runs_a_batch_and_prints_each_guest(
    app_server: AppServer, tokens: Tokens, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, [8680, 8681])
    time.sleep(0.6)  # past the app's cached cluster view
    ran = ctl(
        app_server, tokens.operator, "bulk", "stop", "8680", "8681", "--reason", "maintenance", "--wait"
    )
    assert ran.code == 0, ran
    status, batch_id, url = ran.lines[0].split("\t")
    assert status == "done" and url.endswith(f"/batches/{batch_id}")
    assert [line.split("\t")[:2] for line in ran.lines[1:]] == [["succeeded", "8680"], ["succeeded", "8681"]]
    assert all(":qmstop:" in line.split("\t")[2] for line in ran.lines[1:])
    assert running(pve, vmids) == []
    shown = ctl(app_server, tokens.viewer, "batch", batch_id)
    assert shown.code == 0 and shown.lines == ran.lines
    assert ctl(app_server, tokens.viewer, "wait", batch_id).lines == ran.lines
    refused = ctl(app_server, tokens.viewer, "bulk", "start", "8680", "--reason", "r")
    assert refused.code == 4 and running(pve, vmids) == []


def test_ctl_bulk_of_a_deletion_waits_for_a_person(
    app_server: AppServer, tokens: Tokens, pve: DemoPve, guests: None
) -> None:
    add_vms(pve, [8682, 8683], status="stopped")
    time.sleep(0.6)
    asked = ctl(
        app_server,
        tokens.operator,
        "bulk",
        "delete",
        "8682",
        "8683",
        "--param",
        "purge=true",
        "--reason",
        "old",
    )
    assert asked.code == 3, asked
    status, request_id, url, batch = asked.lines[0].split("\t")
    assert status == "pending" and url.endswith(f"/approvals/{request_id}") and batch.startswith("batch ")
    wrong = ctl(app_server, tokens.operator, "bulk", "stop", "8682", "--param", "timeout")
    assert wrong.code == 4 and "NAME=VALUE" in wrong.err
    bearer = {"Authorization": f"Bearer {tokens.operator}"}
    cancelled = httpx.post(f"{app_server.url}/api/v1/requests/{request_id}/cancel", headers=bearer)
    assert cancelled.status_code == 200
    assert ctl(app_server, tokens.operator, "batch", batch.split()[1]).lines[0].startswith("stopped\t")


def test_mcp_run_bulk_runs_the_batch_and_asks_for_destructive_ones(
    app_server: AppServer, tokens: Tokens, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, [8684, 8685, 8686])
    stopped = add_vms(pve, [8687], status="stopped")
    time.sleep(0.6)

    async def scenario() -> tuple[dict, dict, dict, str, set[str]]:
        async with stdio_session(app_server.url, tokens.operator) as session:
            ran = await call(
                session,
                "run_bulk",
                operation="shutdown",
                vmids=vmids,
                reason="patching",
                wait=True,
                wait_seconds=30,
            )
            again = await call(session, "get_batch", batch_id=ran["batch_id"])
            asked = await call(session, "run_bulk", operation="delete", vmids=stopped, reason="gone")
            wrong = await session.call_tool(
                "run_bulk", {"operation": "suspend", "vmids": vmids, "reason": "r"}
            )
        async with stdio_session(app_server.url, tokens.viewer) as session:
            offered = {tool.name for tool in (await session.list_tools()).tools}
        return ran, again, asked, text_of(wrong), offered

    ran, again, asked, wrong, offered = run_async(scenario())
    assert ran["status"] == "done" and [i["status"] for i in ran["items"]] == ["succeeded"] * 3
    assert running(pve, vmids) == []
    assert again["items"] == ran["items"]
    assert asked["status"] == "pending" and asked["request_id"] and "approve" in asked["message"]
    assert [vm.vmid for vm in pve.vms if vm.vmid in stopped] == stopped, "nothing deleted before approval"
    assert "not offered in bulk" in wrong
    assert {"get_batch", "wait_batch"} <= offered and not {"run_bulk", "stop_batch"} & offered


@pytest.fixture
def lossy(app_server: AppServer) -> Iterator[DroppingProxy]:
    """The app behind a proxy that loses the answer of the first bulk POST."""
    proxy = DroppingProxy(app_server.url, "/api/v1/bulk/")
    yield proxy
    proxy.stop()


def bulk_posts(proxy: DroppingProxy) -> list[tuple[str, str | None]]:
    """The POST /api/v1/bulk/{operation} that went through the proxy (not POST /api/v1/bulk/{id}/stop)."""
    return [(path, key) for path, key in proxy.posts if path.count("/") == 4]


def test_mcp_run_bulk_sends_again_with_its_key_when_the_answer_is_lost(
    app_server: AppServer, lossy: DroppingProxy, tokens: Tokens, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, [8688, 8689])
    time.sleep(0.6)
    since = len(pve.requests)

    async def scenario() -> dict:
        async with stdio_session(lossy.url, tokens.operator) as session:
            return await call(
                session,
                "run_bulk",
                operation="stop",
                vmids=vmids,
                reason="lost answer",
                wait=True,
                wait_seconds=30,
            )

    ran = run_async(scenario())
    assert ran["status"] == "done" and [i["status"] for i in ran["items"]] == ["succeeded"] * 2
    (first, key), (second, again) = bulk_posts(lossy)
    assert first == second == "/api/v1/bulk/stop" and key and key == again, "the retry carried the same key"
    stops = [r[1] for r in pve.requests[since:] if r[0] == "POST" and r[1].endswith("/status/stop")]
    assert sorted(stops) == [f"/api2/json/nodes/pve1/qemu/{v}/status/stop" for v in vmids], "once a guest"
    listed = httpx.get(
        f"{app_server.url}/api/v1/bulk", headers={"Authorization": f"Bearer {tokens.operator}"}
    )
    assert [b["batch_id"] for b in listed.json()["items"] if b["items"][0]["vmid"] in vmids] == [
        ran["batch_id"]
    ]


def test_ctl_bulk_sends_again_with_its_key_and_each_call_has_its_own(
    lossy: DroppingProxy, tokens: Tokens, pve: DemoPve, guests: None
) -> None:
    add_vms(pve, [8690])
    time.sleep(0.6)
    since = len(pve.requests)
    codes = []
    for name in ("keyed", "keyed-too"):
        argv = ["ctl", "bulk", "snapshot", "8690", "--param", f"snapname={name}", "--reason", "r", "--wait"]
        with redirect_stdout(io.StringIO()):
            codes.append(
                run_async(run_ctl(ApiConfig(lossy.url, tokens.operator), build_parser().parse_args(argv)))
            )
    assert codes == [0, 0]
    keys = [key for _, key in bulk_posts(lossy)]
    assert len(keys) == 3 and keys[0] == keys[1] != keys[2], (
        "the retry reuses its call's key; a new call has its own"
    )
    assert len(sent(pve, since, "POST", "/qemu/8690/snapshot")) == 2, (
        "one snapshot a call, none for the retry"
    )
    assert {"keyed", "keyed-too"} <= set(pve.vm(8690).snapshots)
