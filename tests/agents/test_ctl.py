"""`proxgate ctl` on the demo cluster: the shell helper's lines, the approval gate and the exit codes."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.agents import api as api_module
from app.agents.api import ApiConfig
from app.agents.cli import run_ctl
from app.agents.ctl_parser import snapshot_name
from app.cli import build_parser
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.agent_guests import (
    add_ct,
    add_vm,
    guests_made,
    helper_ips,
    helper_snapshots,
    helper_status,
    helper_storage,
    helper_tasks,
    helper_vms,
)
from tests.approval_guests import settle
from tests.backup_guests import FakeApi
from tests.factories import make_token, make_user, run_async
from tests.servers import AppServer

PROXGATE = str(Path(sys.executable).parent / "proxgate")


@dataclass
class Ran:
    """What a ctl command printed and how it exited."""

    code: int
    lines: list[str]
    err: str


@dataclass
class Tokens:
    """An operator's, an approver's and a viewer's API token."""

    operator: str
    approver: str
    viewer: str


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
def guests(pve: DemoPve, fake_api: FakeApi) -> Iterator[None]:
    """VM 9701 (stopped, two snapshots, 10.97.0.30) and CT 9702 (running, 10.97.0.3 and 10.97.0.200)."""
    for made in guests_made(pve):
        add_vm(
            pve, 9701, "agent-vm", ipconfig0="ip=10.97.0.30/24,gw=10.97.0.1", net0="virtio=BC:24:11:97:01:01"
        )
        add_ct(
            pve,
            9702,
            "agent-ct",
            status="running",
            net0="name=eth0,bridge=vmbr0,ip=10.97.0.3/24,gw=10.97.0.1",
            net1="name=eth1,bridge=vmbr1,ip=10.97.0.200/24",
        )
        for name, description in (("before-upgrade", "kernel 6.8\nand tools"), ("plain", "")):
            data = {"snapname": name, "description": description}
            fake_api.run("POST", "/nodes/pve1/qemu/9701/snapshot", data=data)
        time.sleep(0.6)  # past the app's cached cluster view
        yield made


def ctl(app_server: AppServer, token: str, *argv: str) -> Ran:
    """Run `proxgate ctl ARGV` in this process (its loop in a thread of its own)."""
    args = build_parser().parse_args(["ctl", *argv])
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_async(run_ctl(ApiConfig(app_server.url, token), args))
    return Ran(code, out.getvalue().splitlines(), err.getvalue())


def test_listings_match_the_shell_helper_line_by_line(
    app_server: AppServer, tokens: Tokens, fake_api: FakeApi, guests: None
) -> None:
    viewer = tokens.viewer
    assert ctl(app_server, viewer, "status").lines == helper_status(fake_api)
    assert ctl(app_server, viewer, "vms").lines == helper_vms(fake_api)
    assert ctl(app_server, viewer, "vms", "pve1").lines == helper_vms(fake_api, "pve1")
    assert ctl(app_server, viewer, "lxc", "pve2").lines == helper_vms(fake_api, "pve2", "lxc")
    assert ctl(app_server, viewer, "snapshots", "9701").lines == helper_snapshots(
        fake_api, "pve1", "qemu", 9701
    )
    assert ctl(app_server, viewer, "storage", "pve1").lines == helper_storage(fake_api, "pve1")
    assert ctl(app_server, viewer, "ips").lines == helper_ips(fake_api)
    assert ctl(app_server, viewer, "ips", "10.97.0.3").lines == helper_ips(fake_api, "10.97.0.3")


def test_listings_read_every_page_and_fail_rather_than_print_part(
    app_server: AppServer, tokens: Tokens, fake_api: FakeApi, guests: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With pages of 3 items, `ips` (and every listing) still prints all of it; a listing that cannot be read
    whole exits 1 and prints nothing."""
    monkeypatch.setattr(api_module, "PAGE_LIMIT", 3)
    viewer = tokens.viewer
    whole = helper_ips(fake_api)
    assert len(whole) > 3 * 2
    assert ctl(app_server, viewer, "ips").lines == whole
    assert ctl(app_server, viewer, "ips", "10.97.").lines == helper_ips(fake_api, "10.97.")
    assert ctl(app_server, viewer, "vms").lines == helper_vms(fake_api)
    monkeypatch.setattr(api_module, "MAX_PAGES", 2)
    cut = ctl(app_server, viewer, "ips")
    assert cut.code == 1 and cut.lines == []
    assert "could not be read whole" in cut.err


def test_what_the_lines_say_for_the_guests_made_here(
    app_server: AppServer, tokens: Tokens, guests: None
) -> None:
    assert ctl(app_server, tokens.viewer, "snapshots", "9701").lines == [
        "before-upgrade\tkernel 6.8 and tools",
        "plain\t",
        "current\tYou are here!",
    ]
    assert ctl(app_server, tokens.viewer, "ips", "10.97.0.").lines == [
        "10.97.0.3\t9702\tlxc\trunning\tagent-ct",
        "10.97.0.30\t9701\tqemu\tstopped\tagent-vm",
        "10.97.0.200\t9702\tlxc\trunning\tagent-ct",
    ]
    assert "9701\tagent-vm\tstopped\tpve1" in ctl(app_server, tokens.viewer, "vms").lines
    status = ctl(app_server, tokens.viewer, "status").lines
    # The demo's nodes are as busy as the guests running on them, which other tests start and stop.
    assert status[0] == "=== Nodes ===" and [
        line.split(":")[0]
        for line in status[1:4]
        if re.fullmatch(r"pve\d: online \| CPU: \d+% \| Mem: \d+%", line)
    ] == ["pve1", "pve2", "pve3"]


def test_a_start_runs_at_once_and_its_task_lines_follow(
    app_server: AppServer, tokens: Tokens, fake_api: FakeApi, pve: DemoPve, guests: None
) -> None:
    started = ctl(app_server, tokens.operator, "start", "9701", "--wait")
    assert started.code == 0, started
    exitstatus, upid, description = started.lines[0].split("\t")
    assert exitstatus == "OK" and ":qmstart:9701:" in upid and "9701" in description
    assert pve.vm(9701).status == "running"
    # A task an earlier test left running (a backup) may end between the two reads, and the app's task list is
    # cached for a moment: compare once both have settled.
    deadline = time.monotonic() + 15
    while True:
        tasks = ctl(app_server, tokens.viewer, "tasks", "pve1")
        if sorted(tasks.lines) == sorted(helper_tasks(fake_api, "pve1")) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # Tasks of the same second may come in either order.
    assert tasks.code == 0 and tasks.lines == sorted(tasks.lines, key=lambda t: t[:20], reverse=True)
    assert sorted(tasks.lines) == sorted(helper_tasks(fake_api, "pve1"))
    assert any(line.endswith("\tqmstart\tOK") for line in tasks.lines)
    again = ctl(app_server, tokens.operator, "start", "9701")
    assert again.code == 4 and "running" in again.err


def test_a_destructive_command_waits_for_a_person_and_exits_3(
    app_server: AppServer, client: httpx.Client, tokens: Tokens, pve: DemoPve, guests: None
) -> None:
    asked = ctl(app_server, tokens.operator, "rollback", "9701", "plain", "--reason", "undo the test")
    assert asked.code == 3, asked
    status, rid, url, _description = asked.lines[0].split("\t")
    assert status == "pending" and url.endswith(f"/approvals/{rid}")
    shown = ctl(app_server, tokens.operator, "request", rid)
    assert shown.code == 0 and "status\tpending" in shown.lines and f"url\t{url}" in shown.lines
    listed = ctl(app_server, tokens.operator, "requests", "--status", "pending")
    assert any(line.startswith(f"{rid}\tpending\trollback\t9701\t") for line in listed.lines)
    bearer = {"Authorization": f"Bearer {tokens.approver}"}
    approved = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9701"}, headers=bearer)
    assert approved.status_code == 200, approved.text
    waited = ctl(app_server, tokens.operator, "wait", rid, "--timeout", "30")
    assert waited.code == 0 and waited.lines[0].startswith(f"succeeded\t{rid}\t")
    assert settle(client, bearer, int(rid))["result"]["exitstatus"] == "OK"


def test_refusals_and_rejections_exit_4_and_json_prints_the_api(
    app_server: AppServer, client: httpx.Client, tokens: Tokens, guests: None
) -> None:
    refused = ctl(app_server, tokens.viewer, "stop", "9702")
    assert refused.code == 4 and "operator role" in refused.err
    assert ctl(app_server, tokens.viewer, "snapshots", "9799").code == 4
    assert ctl(app_server, tokens.viewer, "tasks", "nowhere").code == 4
    no_reason = ctl(app_server, tokens.operator, "delete", "9701")
    assert no_reason.code == 4 and "reason" in no_reason.err
    asked = ctl(app_server, tokens.operator, "--json", "delete", "9701", "--reason", "test", "--purge")
    assert asked.code == 3
    rid = json.loads("\n".join(asked.lines))["request_id"]
    bearer = {"Authorization": f"Bearer {tokens.approver}"}
    assert (
        client.post(f"/api/v1/requests/{rid}/reject", json={"comment": "no"}, headers=bearer).status_code
        == 200
    )
    assert ctl(app_server, tokens.operator, "wait", str(rid)).code == 4


def test_the_console_script_reports_usage_and_unreachable_servers() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXGATE_")}
    missing = subprocess.run([PROXGATE, "ctl", "status"], env=env, capture_output=True, text=True)  # noqa: S603
    assert missing.returncode == 2 and "PROXGATE_URL" in missing.stderr
    usage = subprocess.run([PROXGATE, "ctl", "snap"], env=env, capture_output=True, text=True)  # noqa: S603
    assert usage.returncode == 2
    env.update(PROXGATE_URL="http://127.0.0.1:9", PROXGATE_TOKEN="pxg_x")
    down = subprocess.run([PROXGATE, "ctl", "status"], env=env, capture_output=True, text=True)  # noqa: S603
    assert down.returncode == 1 and "cannot reach Proxgate" in down.stderr


def test_the_helpers_other_forms_work_as_they_did(
    app_server: AppServer, tokens: Tokens, fake_api: FakeApi, pve: DemoPve, guests: None
) -> None:
    """help, list, snapshot with its name left out, and a guest command's NODE argument."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXGATE_")}
    shown = subprocess.run([PROXGATE, "ctl", "help"], env=env, capture_output=True, text=True)  # noqa: S603
    assert shown.returncode == 0 and "exit codes:" in shown.stdout and "snapshots" in shown.stdout
    assert ctl(app_server, tokens.viewer, "list").lines == helper_vms(fake_api)
    assert ctl(app_server, tokens.viewer, "list", "pve1").lines == helper_vms(fake_api, "pve1")
    taken = ctl(app_server, tokens.operator, "snapshot", "9701", "--wait")
    assert taken.code == 0, taken
    assert any(s["name"].startswith("snap-") for s in fake_api.data("GET", "/nodes/pve1/qemu/9701/snapshot"))
    on_pve1 = ctl(app_server, tokens.viewer, "snapshots", "9701", "pve1")
    assert on_pve1.lines == helper_snapshots(fake_api, "pve1", "qemu", 9701), on_pve1
    assert ctl(app_server, tokens.viewer, "snapshots", "9701", "pve3").code == 4
    elsewhere = ctl(app_server, tokens.operator, "start", "9701", "pve2")
    assert elsewhere.code == 4 and "Guest 9701 is on pve1, not on pve2." in elsewhere.err
    assert pve.vm(9701).status == "stopped"
    started = ctl(app_server, tokens.operator, "start", "9701", "pve1", "--wait")
    assert started.code == 0 and started.lines[0].startswith("OK\t"), started
    assert pve.vm(9701).status == "running"


def test_the_default_snapshot_name_is_local_time_as_the_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Etc/GMT-5")  # five hours east of UTC
    time.tzset()
    try:
        local = datetime.now(UTC) + timedelta(hours=5)
        assert snapshot_name()[:16] == local.strftime("snap-%Y%m%d-%H")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_tasks_lists_the_finished_tasks_as_the_helper_did(
    app_server: AppServer, tokens: Tokens, fake_api: FakeApi, pve: DemoPve, guests: None
) -> None:
    scale, pve.time_scale = pve.time_scale, 1.0
    pve.vm(9701).start_secs = 4
    try:
        assert ctl(app_server, tokens.operator, "start", "9701").code == 0
        time.sleep(0.6)  # past the app's cached task list
        tasks = ctl(app_server, tokens.viewer, "tasks", "pve1")
        assert tasks.code == 0 and 0 < len(tasks.lines) <= 10
        running = fake_api.data("GET", "/nodes/pve1/tasks", params={"vmid": 9701})
        assert any("status" not in t for t in running), "the start still runs"
        assert not [line for line in tasks.lines if line.endswith("RUNNING")], tasks.lines
        # Tasks of the same second may come in either order, so the tenth may be another of that second.
        helpers = helper_tasks(fake_api, "pve1")
        assert tasks.lines[:-1] and set(tasks.lines[:-1]) <= set(helpers) and len(tasks.lines) == len(helpers)
    finally:
        pve.vm(9701).start_secs = 0
        pve.time_scale = scale


def test_a_rejection_says_why_and_a_retried_wait_waits_on_the_open_request(
    app_server: AppServer, client: httpx.Client, tokens: Tokens, pve: DemoPve, guests: None
) -> None:
    bearer = {"Authorization": f"Bearer {tokens.approver}"}
    first = ctl(app_server, tokens.operator, "delete", "9701", "--reason", "retry test")
    assert first.code == 3
    rid = first.lines[0].split("\t")[1]
    again = ctl(
        app_server, tokens.operator, "delete", "9701", "--reason", "retry test", "--wait", "--timeout", "1"
    )
    assert again.code == 3 and again.lines[0].startswith(f"pending\t{rid}\t"), again
    assert f"request {rid} for the same change is open; waiting on it" in again.err
    said = client.post(f"/api/v1/requests/{rid}/reject", json={"comment": "keep it a week"}, headers=bearer)
    assert said.status_code == 200
    waited = ctl(app_server, tokens.operator, "wait", rid)
    assert waited.code == 4 and waited.lines[0].startswith(f"rejected\t{rid}\t")
    assert "proxgate: rejected by " in waited.err and waited.err.rstrip().endswith(": keep it a week")
    assert pve.vm(9701) is not None
