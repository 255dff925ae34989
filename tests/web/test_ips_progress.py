"""A new install's /ips and GET /api/v1/ips answer at once and say how far the reading has come; a restart is warm.

Each test runs an app of its own on a new database (the index is kept in the database, so the suite's app is
warm), with the fake's configuration or guest agent reads answered late so the stages can be watched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import make_token, make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.ip_guests import Requests, cold_app, eventually
from tests.servers import AppServer

# Seconds each configuration and each live read is held back by the fake: a pass takes several of them.
HELD = 1.0


@pytest.fixture
def cold(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> Iterator[tuple[AppServer, Settings]]:
    """An app that has never read the cluster."""
    with cold_app(served_fake, empty_database, tmp_path / "data") as made:
        yield made


@pytest.fixture
def slow_reads(pve: DemoPve) -> None:
    """Configuration and live reads take HELD seconds each (the pve fixture lifts it afterwards)."""
    for suffix in ("/config", "/agent/network-get-interfaces", "/interfaces"):
        pve.stall("GET", suffix, HELD)


def rows(page: str) -> set[tuple[str, str]]:
    """(address, vmid) of each table row."""
    return set(re.findall(r'<tr data-address="([^"]+)" data-vmid="(\d+)"', page))


def sources(page: str) -> set[str]:
    """The Source cell of each row."""
    return set(re.findall(r'<td data-label="Source" class="small">([^<]*)</td>', page))


def whole(api: httpx.Client) -> dict[str, Any] | None:
    """The listing of every address once it is complete, else None."""
    answer: dict[str, Any] = api.get("/api/v1/ips", params={"limit": 500}).json()
    return answer if answer["complete"] else None


def test_a_cold_page_paints_at_once_then_fills_in_configs_first(
    cold: tuple[AppServer, Settings], slow_reads: None, pve: DemoPve
) -> None:
    server, settings = cold
    with signed_in(server.url, make_user(settings, "viewer")) as viewer:
        started = time.monotonic()
        first = viewer.get("/ips")
        took = time.monotonic() - started
        assert first.status_code == 200 and took < HELD, "the page does not wait for a single config"
        guests = len(pve.vms) + len(pve.cts)
        assert f"Read 0 of {guests} guests&#39; configurations" in first.text
        assert "No address is known yet" in first.text and rows(first.text) == set()
        assert 'hx-get="/ips/progress?stage=configs" hx-trigger="every 1s"' in first.text

        def stage_ended() -> httpx.Response | None:
            answer = viewer.get("/ips/progress", params={"stage": "configs"}, headers={"HX-Request": "true"})
            return answer if answer.headers.get("HX-Trigger") == "ip-index-grew" else None

        grew = eventually(stage_ended)
        assert "guest agents and container interfaces" in grew.text or 'data-stage="done"' in grew.text
        configured = viewer.get("/ips", headers={"HX-Request": "true"}).text
        assert rows(configured), "every configuration read: the configured addresses are listed"
        if 'data-stage="live"' in configured:
            assert all(s.startswith("config: ") for s in sources(configured)), "no agent was asked before"

        done = eventually(lambda: 'data-stage="done"' in viewer.get("/ips/progress").text)
        assert done
        whole = viewer.get("/ips")
        assert "guest agent" in " ".join(sources(whole.text)) and rows(configured) <= rows(whole.text)
        assert "Read " not in whole.text and ", so far" not in whole.text


def test_the_api_says_it_is_not_complete_then_is(
    cold: tuple[AppServer, Settings], slow_reads: None, pve: DemoPve
) -> None:
    server, settings = cold
    token = make_token(settings, make_user(settings, "viewer"))
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        body = api.get("/api/v1/ips").json()
        assert body["complete"] is False and body["items"] == [] and body["total"] == 0
        assert body["progress"]["stage"] == "configs" and body["progress"]["done"] == 0
        assert body["progress"]["total"] == len(pve.vms) + len(pve.cts)
        assert body["progress"]["text"].startswith("Read 0 of ")

        body = eventually(lambda: whole(api))
        assert body["progress"] == {
            "stage": "done",
            "done": body["progress"]["total"],
            "total": body["progress"]["total"],
            "text": "",
        }
        assert body["items"] and any("guest agent" in i["sources"] for i in body["items"])


def test_a_restarted_app_answers_from_the_database_without_reading_configs(
    served_fake: ServedFake, empty_database: str, tmp_path: Path, pve: DemoPve
) -> None:
    with cold_app(served_fake, empty_database, tmp_path / "data") as (server, settings):
        token = make_token(settings, make_user(settings, "viewer"))
        head = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=head, timeout=30) as api:
            before = eventually(lambda: whole(api))
    seen = Requests(pve)
    with (
        cold_app(served_fake, empty_database, tmp_path / "data", wait=5.0) as (server, _settings),
        httpx.Client(base_url=server.url, headers=head, timeout=30) as api,
    ):
        after = api.get("/api/v1/ips", params={"limit": 500}).json()
    assert after["complete"] is True and after["items"] == before["items"]
    reads = [path for _method, path, _body in seen.since() if path.endswith(("/config", "/interfaces"))]
    assert reads == [], "the restarted app read no configuration and asked no guest agent"
