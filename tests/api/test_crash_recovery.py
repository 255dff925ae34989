"""A process killed (SIGKILL) in the middle of a plain action, or just after a call that timed out: the next
process finds the task in the node's task list, follows it to its end, the audit tells the whole story, its
chain verifies, and Proxmox got the call once."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.db.migrate import upgrade_database
from pvesim.fake import DemoPve
from tests.approval_guests import People, add_vm, ask, people, select_rows, sent
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake
from tests.processes import AppProcess, audit_verify


def wait_for_state(settings: Settings, vmid: int, states: tuple[str, ...], timeout: float = 15) -> None:
    """Until the guest's execution row is in one of these states (read from the database directly)."""
    deadline = time.monotonic() + timeout
    query = "SELECT state FROM executions WHERE vmid = :vmid"
    while not any(row[0] in states for row in select_rows(settings, query, vmid=vmid)):
        assert time.monotonic() < deadline, select_rows(settings, query, vmid=vmid)
        time.sleep(0.05)


def start_and_kill(
    app: AppProcess, crew: People, vmid: int, settings: Settings, states: tuple[str, ...]
) -> None:
    """POST a start of the guest and SIGKILL the process once its execution is in one of these states."""

    def start() -> None:
        with contextlib.suppress(httpx.TransportError), httpx.Client(base_url=app.url, timeout=30) as client:
            ask(client, crew.alice, vmid, "start")

    starting = threading.Thread(target=start, daemon=True)
    starting.start()
    try:
        wait_for_state(settings, vmid, states)
    finally:
        app.kill()
    starting.join(30)


def story_after_restart(settings: Settings, crew: People, vmid: int, log: Path) -> list[dict[str, Any]]:
    """Start a new process on the database, wait for the guest's execution to end; its audit events, oldest first."""
    second = AppProcess(settings, log)
    try:
        with httpx.Client(base_url=second.url, timeout=30) as client:
            deadline = time.monotonic() + 40
            while True:
                items = client.get("/api/v1/audit", params={"vmid": vmid}, headers=crew.viewer).json()[
                    "items"
                ]
                if items and items[0]["outcome"] in ("succeeded", "failed", "not-started"):
                    break
                assert time.monotonic() < deadline, items
                time.sleep(0.2)
    finally:
        second.stop()  # a normal stop writes the audit checkpoint that `audit verify` checks the chain against
    return list(reversed(items))


def ran_once(pve: DemoPve, seen: int, vmid: int, upid: str) -> None:
    """Proxmox got one start for the guest and ran one task: the one the audit names."""
    assert len(sent(pve, seen, "POST", f"/qemu/{vmid}/status/start")) == 1
    tasks = [t["upid"] for t in pve.tasklog if f":qmstart:{vmid}:" in t["upid"]]
    assert tasks == [upid]
    assert pve.vm(vmid).status == "running"


def landed(pve: DemoPve, vmid: int) -> None:
    """Wait until the stalled start reaches the fake, then stop stalling."""
    deadline = time.monotonic() + 15
    while pve.vm(vmid).status != "running":
        assert time.monotonic() < deadline, "the start never reached the fake"
        time.sleep(0.1)
    pve.stalls.clear()


def chain_intact(settings: Settings) -> None:
    """`proxgate audit verify` passes."""
    verified = audit_verify(settings)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("audit chain intact")


def test_a_process_killed_during_a_start_leaves_its_task_to_the_next_process(
    served_fake: ServedFake, pve: DemoPve, empty_database: str, tmp_path: Path, scratch: None
) -> None:
    upgrade_database(empty_database)
    # Lease of a call: 3 x 2 s + 5 s; the start is answered after 1.5 s, within the timeout.
    settings = app_settings(served_fake, empty_database, tmp_path, proxmox_timeout=2.0)
    crew, log = people(settings), tmp_path / "app.log"
    add_vm(pve, 9376)
    pve.stall("POST", "/qemu/9376/status/start", 1.5)
    seen = len(pve.requests)
    start_and_kill(AppProcess(settings, log), crew, 9376, settings, ("calling",))
    landed(pve, 9376)  # on the fake, after its caller died

    events = story_after_restart(settings, crew, 9376, log)
    assert [(e["operation"], e["outcome"]) for e in events] == [
        ("start", "intent"),
        ("start", "started"),
        ("start", "succeeded"),
    ]
    upid = events[1]["upid"]
    assert upid and ":qmstart:9376:" in upid and "task list" in events[1]["message"]
    assert events[2]["upid"] == upid
    chain_intact(settings)
    ran_once(pve, seen, 9376, upid)


def test_a_process_killed_after_a_start_timed_out_leaves_the_unknown_to_the_next_process(
    served_fake: ServedFake, pve: DemoPve, empty_database: str, tmp_path: Path, scratch: None
) -> None:
    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path, proxmox_timeout=1.0)
    crew, log = people(settings), tmp_path / "app.log"
    add_vm(pve, 9377)
    pve.stall("POST", "/qemu/9377/status/start", 4.0)  # the call times out after 1 s; the start lands at 4 s
    seen = len(pve.requests)
    start_and_kill(AppProcess(settings, log), crew, 9377, settings, ("unknown",))
    # Killed before the stalled start landed: its own watcher saw nothing.
    assert pve.vm(9377).status == "stopped"
    landed(pve, 9377)

    events = story_after_restart(settings, crew, 9377, log)
    assert [(e["operation"], e["outcome"]) for e in events] == [
        ("start", "intent"),
        ("start", "unknown"),
        ("start", "started"),
        ("start", "succeeded"),
    ]
    assert "may or may not have been made" in events[1]["message"]
    upid = events[2]["upid"]
    assert upid and ":qmstart:9377:" in upid and "task list" in events[2]["message"]
    assert events[3]["upid"] == upid
    chain_intact(settings)
    ran_once(pve, seen, 9377, upid)
