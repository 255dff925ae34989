"""Approvals across processes: a crash in the middle is reconciled without a second call, and two app
processes on one database run an approved change exactly once."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from app.config import Settings
from app.db.migrate import upgrade_database
from pvesim.fake import DemoPve
from tests.approval_guests import People, add_vm, ask, people, select_rows, sent, settle
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake
from tests.processes import AppProcess
from tests.servers import AppServer


def test_a_crash_during_execution_is_reconciled_at_start_up_without_a_second_call(
    served_fake: ServedFake, pve: DemoPve, empty_database: str, tmp_path: Path, scratch: None
) -> None:
    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path, proxmox_timeout=1.0)
    crew = people(settings)
    add_vm(pve, 9370)
    log = tmp_path / "app.log"
    first = AppProcess(settings, log)
    seen = len(pve.requests)
    try:
        with httpx.Client(base_url=first.url, timeout=30) as client:
            rid = ask(client, crew.alice, 9370, "delete", reason="crash test").json()["request_id"]
        pve.stall("DELETE", "/qemu/9370", 3.0)  # the answer is late; the deletion happens after it

        def approve() -> None:
            with contextlib.suppress(httpx.TransportError):  # the server dies under it
                httpx.post(
                    f"{first.url}/api/v1/requests/{rid}/approve",
                    json={"confirm": "9370"},
                    headers=crew.bob,
                    timeout=30,
                )

        approving = threading.Thread(target=approve, daemon=True)
        approving.start()
        deadline = time.monotonic() + 15
        while not select_rows(settings, "SELECT id FROM executions WHERE approval_id = :id", id=rid):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first.kill()
    finally:
        first.stop()
    deadline = time.monotonic() + 15
    while pve.vm(9370) is not None:  # the stalled DELETE lands on the fake after its process is gone
        assert time.monotonic() < deadline, "the DELETE never reached the fake"
        time.sleep(0.1)
    pve.stalls.clear()
    assert select_rows(settings, "SELECT status FROM approval_requests WHERE id = :id", id=rid) == [
        ("executing",)
    ]

    second = AppProcess(settings, log)
    try:
        with httpx.Client(base_url=second.url, timeout=30) as client:
            done = settle(client, crew.bob, rid, timeout=40)
            assert done["status"] == "succeeded", done
            assert ":qmdestroy:9370:" in done["upid"]
            events = client.get("/api/v1/audit", params={"vmid": 9370}, headers=crew.bob).json()["items"]
    finally:
        second.stop()
    outcomes = [e["outcome"] for e in reversed(events)]
    assert outcomes[-5:] == ["requested", "approved", "intent", "started", "succeeded"]
    assert "task list" in events[1]["message"]
    assert len(sent(pve, seen, "DELETE", "/qemu/9370")) == 1


def test_two_app_processes_run_an_approved_change_once(
    app_server: AppServer, settings: Settings, pve: DemoPve, tmp_path: Path, scratch: None
) -> None:
    crew: People = people(settings)
    other = AppProcess(settings, tmp_path / "other.log")
    try:
        add_vm(pve, 9371)
        seen = len(pve.requests)
        with httpx.Client(base_url=app_server.url, timeout=30) as client:
            rid = ask(client, crew.alice, 9371, "delete", reason="two processes").json()["request_id"]
        approvers = [crew.bob, crew.carol]

        def approve(n: int) -> int:
            base = (app_server.url, other.url)[n % 2]
            answer = httpx.post(
                f"{base}/api/v1/requests/{rid}/approve",
                json={"confirm": "9371"},
                headers=approvers[(n // 2) % 2],
                timeout=60,
            )
            return answer.status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(approve, range(20)))
        assert codes.count(200) == 1 and set(codes) <= {200, 409}, codes
        with httpx.Client(base_url=other.url, timeout=30) as client:
            assert settle(client, crew.bob, rid)["status"] == "succeeded"
        assert len(sent(pve, seen, "DELETE", "/qemu/9371")) == 1
    finally:
        other.stop()
