"""DemoPve's node journals, read as Proxmox's journal and syslog endpoints answer, and refused without
Sys.Syslog in PVE's words."""

from __future__ import annotations

import httpx

from pvesim.fake import DemoPve
from pvesim.journal import CURSOR_INDEX
from tests.backup_guests import FakeApi
from tests.fakepve_thread import ServedFake

OUTSIDER, OUTSIDER_SECRET = "auditor@pve!logs", "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def test_the_journal_answers_with_cursors_around_short_lines(fake_api: FakeApi) -> None:
    answer = fake_api.data("GET", "/nodes/pve1/journal", params={"lastentries": 50})
    assert len(answer) == 52 and CURSOR_INDEX.search(answer[0]) and CURSOR_INDEX.search(answer[-1])
    assert all(" pve1 " in line for line in answer[1:-1])
    everything = fake_api.data("GET", "/nodes/pve1/journal", params={"since": 0})
    assert len(everything) > 200, "a few hundred lines of two days"
    older = fake_api.data("GET", "/nodes/pve1/journal", params={"lastentries": 10, "endcursor": answer[0]})
    assert older[1:-1] == everything[-61:-51], "the ten entries before the first of the last fifty"


def test_syslog_numbers_lines_and_filters_by_service(fake_api: FakeApi) -> None:
    lines = fake_api.data("GET", "/nodes/pve2/syslog", params={"service": "pvedaemon", "limit": 500})
    assert lines and all("pvedaemon[" in line["t"] for line in lines)
    assert [line["n"] for line in lines] == list(range(1, len(lines) + 1))


def test_a_token_without_sys_syslog_is_refused_as_pve_refuses(served_fake: ServedFake, pve: DemoPve) -> None:
    pve.apitokens[OUTSIDER] = OUTSIDER_SECRET
    pve.grant(OUTSIDER, "/", "Sys.Audit", "VM.Audit")
    try:
        with httpx.Client(
            base_url=served_fake.url + "/api2/json",
            verify=served_fake.ssl_context(),
            headers={"Authorization": f"PVEAPIToken={OUTSIDER}={OUTSIDER_SECRET}"},
        ) as http:
            answer = http.get("/nodes/pve1/journal", params={"lastentries": 5})
    finally:
        pve.apitokens.pop(OUTSIDER, None)
    assert answer.status_code == 403
    assert answer.json() == {"data": None, "message": "Permission check failed (/nodes/pve1, Sys.Syslog)\n"}
