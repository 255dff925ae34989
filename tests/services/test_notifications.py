"""Requests and decisions reach people: a signed webhook and Apprise, through an outbox that never blocks."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import ConfigError
from app.services.notifications.outbox import Audience, apprise_target, sign
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, select_rows, sql
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake
from tests.receivers import Receiver
from tests.servers import AppServer, free_port

SECRET = "webhook-signing-secret"
# A Proxmox token secret someone might paste into a reason or a comment.
PVE = "0c2f6e1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook and Apprise json:// receiver on loopback."""
    server = Receiver()
    yield server
    server.close()


def test_requests_and_decisions_are_sent_signed_to_the_webhook_and_through_apprise(
    served_fake: ServedFake,
    database_url: str,
    tmp_path: Path,
    pve: DemoPve,
    scratch: None,
    receiver: Receiver,
) -> None:
    settings = app_settings(
        served_fake,
        database_url,
        tmp_path,
        notify_webhook_url=f"http://127.0.0.1:{receiver.port}/hook",
        notify_interval_seconds=0.2,
        notify_webhook_secret=SECRET,
        notify_apprise_urls=f"json://127.0.0.1:{receiver.port}/apprise",
        public_url="https://proxgate.example",
    )
    server = AppServer(settings)
    try:
        crew = people(settings)
        add_vm(pve, 9350)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            # A secret typed into a reason or a comment is refused: no message carries it anywhere.
            leaked = ask(
                client, crew.alice, 9350, "delete", reason=f"retire it, PVEAPIToken=root@pam!x={PVE}"
            )
            assert leaked.status_code == 422 and leaked.json()["field"] == "reason"
            rid = ask(client, crew.alice, 9350, "delete", reason="retire it").json()["request_id"]
            headers, body = receiver.wait("/hook", 1)[0]
            stamp = headers["X-Proxgate-Signature"].split(",")[0].removeprefix("t=")
            assert headers["X-Proxgate-Signature"] == sign(SECRET, int(stamp), body)
            assert abs(int(stamp) - time.time()) < 60
            message = json.loads(body)
            assert message["event"] == "requested" and message["request"]["id"] == rid
            assert message["request"]["url"] == f"https://proxgate.example/approvals/{rid}"
            assert message["request"]["reason"] == "retire it" and message["by"] == crew.alice_name
            assert "Bearer" not in body.decode() and "pxg_" not in body.decode()

            _headers, apprised = receiver.wait("/apprise", 1)[0]
            sent = json.loads(apprised)
            assert sent["title"].startswith("Approval needed: Delete VM 9350")
            assert f"https://proxgate.example/approvals/{rid}" in sent["message"]

            leaked = client.post(
                f"/api/v1/requests/{rid}/reject", json={"comment": f"password={PVE}"}, headers=crew.bob
            )
            assert leaked.status_code == 422 and leaked.json()["field"] == "comment"
            client.post(f"/api/v1/requests/{rid}/reject", json={"comment": "not yet"}, headers=crew.bob)
            events = [json.loads(b)["event"] for _h, b in receiver.wait("/hook", 2)]
            assert events == ["requested", "rejected"]
            time.sleep(0.5)  # a third message, had one been written, would be sent by now
            assert all(PVE.encode() not in body for _path, _headers, body in receiver.received)
            assert [path for path, _headers, _body in receiver.received].count("/hook") == 2
            assert not select_rows(
                settings, "SELECT id FROM notification_outbox WHERE payload LIKE :m", m=f"%{PVE}%"
            )
    finally:
        server.stop()


def test_a_dead_target_neither_slows_nor_fails_the_request_and_is_retried(
    served_fake: ServedFake, database_url: str, tmp_path: Path, pve: DemoPve, scratch: None
) -> None:
    hanging = socket.socket()  # accepts connections and never answers
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(16)
    settings = app_settings(
        served_fake,
        database_url,
        tmp_path,
        notify_webhook_url=f"http://127.0.0.1:{free_port()}/nobody-listens",
        notify_interval_seconds=0.2,
        notify_webhook_secret=SECRET,
        notify_apprise_urls=f"json://127.0.0.1:{hanging.getsockname()[1]}/hangs",
    )
    server = AppServer(settings)
    try:
        crew = people(settings)
        add_vm(pve, 9351)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            started = time.monotonic()
            asked = ask(client, crew.alice, 9351, "delete", reason="dead targets")
            took = time.monotonic() - started
        assert asked.status_code == 202 and took < 3, took
        rid = asked.json()["request_id"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            rows = select_rows(
                settings,
                "SELECT state, attempts, last_error FROM notification_outbox WHERE request_id = :id "
                "AND target = 'webhook'",
                id=rid,
            )
            if rows and rows[0][1] >= 1:
                break
            time.sleep(0.2)
        state, attempts, error = rows[0]
        assert state == "pending" and attempts >= 1 and "Connect" in (error or "")
    finally:
        server.stop()
        hanging.close()
    # The session's database is every test's: no open request may hold VM 9351's change, and no message may wait
    # for the next app whose targets share these names.
    sql(settings, "UPDATE approval_requests SET status = 'cancelled', open_key = NULL WHERE id = :id", id=rid)
    sql(settings, "DELETE FROM notification_outbox WHERE request_id = :id", id=rid)


def test_an_apprise_url_given_for_a_group_is_that_groups_channel() -> None:
    general, grouped = apprise_target(1, "json://h/all"), apprise_target(2, "dba=mailtos://u:p@h?to=a=b")
    assert (general.group, general.url) == (None, "json://h/all")
    assert (grouped.group, grouped.url) == ("dba", "mailtos://u:p@h?to=a=b")
    waiting_for_dba = Audience(approvers=False, groups=("dba",), users=("dave",))
    waiting_for_anyone = Audience(approvers=True, groups=(), users=("bob", "dave"))
    glass = Audience(approvers=True, groups=(), users=("bob",), everyone=True)
    assert [general.receives(a) for a in (None, waiting_for_dba, waiting_for_anyone, glass)] == [
        True,
        False,
        True,
        True,
    ]
    assert [grouped.receives(a) for a in (None, waiting_for_dba, waiting_for_anyone, glass)] == [
        False,
        True,
        False,
        True,
    ]
    with pytest.raises(ConfigError) as refused:
        apprise_target(3, "Dba=mailtos://user:secret@host")
    assert "entry 3: 'Dba' is not a group name" in str(refused.value)
    assert "secret" not in str(refused.value)
