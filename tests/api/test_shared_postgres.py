"""Two app processes on one PostgreSQL database, as a deployment behind a load balancer runs them: a session
made on one works on the other, every task is followed to its end by exactly one of them, and the audit
chain they both write stays intact."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.db.migrate import upgrade_database
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, select_rows, sent
from tests.conftest import app_settings
from tests.factories import make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.processes import AppProcess, audit_verify

# It always runs on PostgreSQL, so CI's second run (on PostgreSQL) need not repeat it.
pytestmark = pytest.mark.database_free

# Started through the API, alternately on each process, all at once.
API_GUESTS = range(9362, 9370)
# Started from its page on the second process, with the session made on the first.
WEB_GUEST = 9378


def audit_of(settings: Settings, upids: list[str]) -> dict[str, list[str]]:
    """The outcomes the audit log holds for each of these UPIDs, in chain order."""
    rows = select_rows(settings, "SELECT upid, outcome FROM audit_events WHERE upid IS NOT NULL ORDER BY seq")
    story: dict[str, list[str]] = {upid: [] for upid in upids}
    for upid, outcome in rows:
        if upid in story:
            story[upid].append(outcome)
    return story


def wait_until_ended(settings: Settings, upids: list[str], timeout: float = 40) -> None:
    """Until every one of these tasks has an end in the audit log."""
    deadline = time.monotonic() + timeout
    while True:
        story = audit_of(settings, upids)
        if all(len(outcomes) > 1 for outcomes in story.values()):
            return
        assert time.monotonic() < deadline, story
        time.sleep(0.2)


def web_start_on_the_other(settings: Settings, first: AppProcess, second: AppProcess, username: str) -> str:
    """Sign in on the first process; read a page and start the web guest on the second; the task's UPID."""
    with signed_in(first.url, username) as on_first:
        csrf = {"X-CSRF-Token": on_first.headers["X-CSRF-Token"]}
        with httpx.Client(
            base_url=second.url, cookies=on_first.cookies, headers=csrf, timeout=30
        ) as on_second:
            page = on_second.get(f"/guests/{WEB_GUEST}")
            assert page.status_code == 200, page.headers.get("location")
            assert f"appr{WEB_GUEST}" in page.text and username in page.text
            answer = on_second.post(
                f"/guests/{WEB_GUEST}/actions/start", data={}, headers={"HX-Request": "true"}
            )
            assert answer.status_code == 200, answer.text
            assert ": started." in answer.text
    rows = select_rows(settings, "SELECT upid FROM executions WHERE vmid = :vmid", vmid=WEB_GUEST)
    assert len(rows) == 1 and rows[0][0]
    return str(rows[0][0])


def test_two_processes_on_postgresql_share_sessions_follow_each_task_once_and_keep_one_chain(
    served_fake: ServedFake, pve: DemoPve, postgres_database: str, tmp_path: Path, scratch: None
) -> None:
    upgrade_database(postgres_database)
    settings = app_settings(served_fake, postgres_database, tmp_path)
    crew, operator = people(settings), make_user(settings, "operator")
    for vmid in [*API_GUESTS, WEB_GUEST]:
        add_vm(pve, vmid)
    seen = len(pve.requests)
    first, second = (
        AppProcess(settings, tmp_path / "first.log"),
        AppProcess(settings, tmp_path / "second.log"),
    )
    try:
        upids = [web_start_on_the_other(settings, first, second, operator)]

        def start(n: int) -> str:
            with httpx.Client(base_url=(first, second)[n % 2].url, timeout=30) as client:
                answer = ask(client, crew.alice, API_GUESTS[n], "start")
            assert answer.status_code == 200, answer.text
            return str(answer.json()["upid"])

        with ThreadPoolExecutor(max_workers=len(API_GUESTS)) as pool:
            upids += pool.map(start, range(len(API_GUESTS)))
        wait_until_ended(settings, upids)
    finally:
        first.stop()
        second.stop()
    assert audit_of(settings, upids) == {upid: ["started", "succeeded"] for upid in upids}
    assert len(sent(pve, seen, "POST", "/status/start")) == len(upids)
    assert all(pve.vm(vmid).status == "running" for vmid in [*API_GUESTS, WEB_GUEST])
    verified = audit_verify(settings)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("audit chain intact")
