"""GET /api/v1/nodes/{node}/log: the journal newest first, paged by cursor, filtered by text, service and time;
the syslog on nodes without a journal endpoint; a plain refusal when the token lacks Sys.Syslog."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from pvesim.fake import DemoPve
from pvesim.journal import short_line


@pytest.fixture
def journal(pve: DemoPve) -> Iterator[list[str]]:
    """pve2's journal as short lines, oldest first, with a line of its own logged just now."""
    port = 40000 + int(time.monotonic() * 1000) % 20000
    pve.journal_append(
        "pve2", "sshd", f"Accepted publickey for root from 10.9.9.9 port {port} ssh2", pid=4242
    )
    yield [short_line("pve2", e) for e in pve._node_journal("pve2")]
    pve.__dict__.get("journal_missing", set()).discard("pve2")


def test_newest_first_and_paged_by_cursor_to_the_start(api: httpx.Client, journal: list[str]) -> None:
    first = api.get("/api/v1/nodes/pve2/log", params={"limit": 100}).json()
    assert first["source"] == "journal" and first["total"] == 100
    assert first["items"][0]["text"] == journal[-1] and first["items"][0]["service"] == "sshd"
    assert first["items"][0]["pid"] == 4242 and first["items"][0]["host"] == "pve2"
    seen, cursor = [i["text"] for i in first["items"]], first["next_cursor"]
    while cursor:
        page = api.get("/api/v1/nodes/pve2/log", params={"limit": 100, "cursor": cursor}).json()
        seen += [i["text"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == journal[::-1][: len(seen)] and len(seen) >= len(journal) - 2


def test_filters_by_text_service_and_time(api: httpx.Client, journal: list[str]) -> None:
    found = api.get("/api/v1/nodes/pve2/log", params={"q": journal[-1][-22:]}).json()["items"]
    assert [i["text"] for i in found] == [journal[-1]]
    daemon = api.get("/api/v1/nodes/pve2/log", params={"service": "pvedaemon", "limit": 500}).json()["items"]
    assert daemon and {i["service"] for i in daemon} == {"pvedaemon"}
    assert len(daemon) == sum(" pvedaemon[" in line for line in journal)
    recent = api.get("/api/v1/nodes/pve2/log", params={"since": int(time.time()) - 60}).json()["items"]
    assert journal[-1] in [i["text"] for i in recent] and len(recent) < 10
    old = api.get("/api/v1/nodes/pve2/log", params={"until": int(time.time()) - 3600, "q": journal[-1][-22:]})
    assert old.json()["items"] == []


def test_bad_input_is_named(api: httpx.Client) -> None:
    bad = api.get("/api/v1/nodes/pve2/log", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"
    backwards = api.get("/api/v1/nodes/pve2/log", params={"since": 2000, "until": 1000})
    assert backwards.status_code == 422 and backwards.json()["field"] == "since"
    assert api.get("/api/v1/nodes/pve_2/log").status_code == 422
    assert api.get("/api/v1/nodes/pve9/log").status_code == 404


def test_syslog_where_the_node_has_no_journal(api: httpx.Client, pve: DemoPve, journal: list[str]) -> None:
    pve.__dict__.setdefault("journal_missing", set()).add("pve2")
    body = api.get("/api/v1/nodes/pve2/log", params={"limit": 5}).json()
    assert body["source"] == "syslog" and [i["text"] for i in body["items"]] == journal[::-1][:5]
    older = api.get("/api/v1/nodes/pve2/log", params={"limit": 5, "cursor": body["next_cursor"]}).json()
    assert [i["text"] for i in older["items"]] == journal[::-1][5:10]


def test_a_token_without_sys_syslog_is_told_plainly(api: httpx.Client, pve: DemoPve) -> None:
    pve.fail("GET", "/nodes/pve1/journal", 403, "Permission check failed (/nodes/pve1, Sys.Syslog)")
    answer = api.get("/api/v1/nodes/pve1/log")
    assert answer.status_code == 403
    assert "lacks the Sys.Syslog privilege on /nodes/pve1" in answer.json()["detail"]
