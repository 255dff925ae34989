"""`proxgate ctl log`, `alerts` and `ack`: a node's last log lines oldest first, filtered; the side-door alerts
listed and acknowledged by an approver (audited), refused to a viewer, and bad input named."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from app.agents.watch_tools import log_row
from app.config import Settings
from pvesim.fake import DemoPve
from tests.agents.side_door_alerts import Alert, alerts_made
from tests.agents.test_ctl import ctl
from tests.factories import make_token, make_user
from tests.servers import AppServer


@pytest.fixture
def alerts(settings: Settings) -> Iterator[list[Alert]]:
    """Two open alerts, for VMs 9794 and 9795."""
    yield from alerts_made(settings, (9794, 9795))


@pytest.fixture
def logged(pve: DemoPve) -> str:
    """A line pve3's sshd logged just now, after 600 of a cron job (the journal then spans pages of 500)."""
    for run in range(600):
        pve.journal_append("pve3", "CRON", f"(root) CMD (ctl-log-test run {run})", pid=5000 + run)
    said = f"Accepted publickey for ops from 10.8.8.8 port {time.time_ns() % 60000}"
    pve.journal_append("pve3", "sshd", said, pid=3131)
    return said


def test_log_prints_the_last_lines_oldest_first_and_filters(
    app_server: AppServer, settings: Settings, logged: str
) -> None:
    token = make_token(settings, make_user(settings, "viewer"))
    with httpx.Client(base_url=app_server.url, headers={"Authorization": f"Bearer {token}"}) as web:
        newest = web.get("/api/v1/nodes/pve3/log", params={"limit": 5}).json()["items"]
        page = web.get("/api/v1/nodes/pve3/log", params={"limit": 500, "service": "pvedaemon"}).json()
        daemons = [e["text"] for e in page["items"]]
        pages = [web.get("/api/v1/nodes/pve3/log", params={"limit": 300}).json()]
        pages.append(
            web.get("/api/v1/nodes/pve3/log", params={"limit": 300, "cursor": pages[0]["next_cursor"]}).json()
        )
    assert page["next_cursor"] is None and len(pages[1]["items"]) == 300
    last = ctl(app_server, token, "log", "pve3", "-n", "5")
    assert last.code == 0 and last.lines == [e["text"] for e in reversed(newest)]
    assert last.lines[-1].endswith(f"sshd[3131]: {logged}")
    grepped = ctl(
        app_server, token, "log", "pve3", "--grep", logged[-20:], "--since", str(int(time.time()) - 60)
    )
    assert grepped.lines == last.lines[-1:]
    every = ctl(app_server, token, "log", "pve3", "--service", "pvedaemon", "-n", "700")
    assert every.lines == daemons[::-1] and all(" pvedaemon[" in text for text in every.lines)
    two_pages = ctl(app_server, token, "log", "pve3", "-n", "600")
    assert two_pages.lines == [e["text"] for p in pages for e in p["items"]][:600][::-1]
    as_json = ctl(app_server, token, "--json", "log", "pve3", "-n", "1")
    assert [log_row(e) for e in json.loads("\n".join(as_json.lines))] == [log_row(newest[0])]


def test_log_refuses_bad_input_and_names_what_proxmox_lacks(
    app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    token = make_token(settings, make_user(settings, "viewer"))
    none = ctl(app_server, token, "log", "pve3", "-n", "0")
    assert none.code == 2 and "between 1 and 10000 lines, not 0" in none.err
    assert ctl(app_server, token, "log", "pve9").code == 4
    backwards = ctl(app_server, token, "log", "pve3", "--since", "2000", "--until", "1000")
    assert backwards.code == 4 and "since" in backwards.err
    pve.fail("GET", "/nodes/pve1/journal", 403, "Permission check failed (/nodes/pve1, Sys.Syslog)")
    refused = ctl(app_server, token, "log", "pve1")
    assert refused.code == 4 and "lacks the Sys.Syslog privilege on /nodes/pve1" in refused.err


def test_an_approver_lists_and_acknowledges_alerts_a_viewer_may_not(
    app_server: AppServer, settings: Settings, alerts: list[Alert]
) -> None:
    name = make_user(settings, "approver")
    approver = make_token(settings, name, "approver")
    listed = ctl(app_server, approver, "alerts")
    mine = [text for text in listed.lines if text.split("\t")[0] in {str(a.id) for a in alerts}]
    assert listed.code == 0 and [text.split("\t")[2:] for text in mine] == [
        ["9795", alerts[1].message, "-", "-"],
        ["9794", alerts[0].message, "-", "-"],
    ]
    viewer = ctl(
        app_server, make_token(settings, make_user(settings, "viewer")), "ack", str(alerts[0].id), "x"
    )
    assert viewer.code == 4 and "This needs the approver role; you are viewer." in viewer.err
    done = ctl(app_server, approver, "ack", str(alerts[0].id), "restored from backup")
    assert done.code == 0 and done.lines[0].split("\t")[3:] == [
        alerts[0].message,
        name,
        "restored from backup",
    ]
    again = ctl(app_server, approver, "ack", str(alerts[0].id), "twice")
    assert again.code == 4 and "acknowledged already" in again.err
    blank = ctl(app_server, approver, "ack", str(alerts[1].id), " ")
    assert blank.code == 4 and "Say what was done about it" in blank.err
    settled = ctl(app_server, approver, "alerts", "--state", "acknowledged")
    assert done.lines[0] in settled.lines
    assert str(alerts[0].id) not in {
        text.split("\t")[0] for text in ctl(app_server, approver, "alerts").lines
    }
    with httpx.Client(base_url=app_server.url, headers={"Authorization": f"Bearer {approver}"}) as web:
        events = web.get("/api/v1/audit", params={"operation": "acknowledge", "vmid": 9794}).json()["items"]
    (event,) = [e for e in events if e["upid"] == alerts[0].key]
    assert event["actor_name"] == name and event["user_agent"] == "proxgate-ctl/0.1"
