"""A retry with the same one-time key after a time-out never sends the change again: it answers "still being
found out" while the first call's outcome is unknown, then that call's task once it is found. API and forms."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.backup_guests import remove_guests
from tests.factories import csrf_from, login, make_token, make_user
from tests.servers import AppServer

MINE = range(8900, 8950)


@pytest.fixture(scope="module")
def impatient(settings: Settings) -> Iterator[AppServer]:
    """The suite's app with a 1 s Proxmox time-out (same database, same keys)."""
    server = AppServer(settings.model_copy(update={"proxmox_timeout": 1.0}))
    yield server
    server.stop()


@pytest.fixture
def source(pve: DemoPve) -> Iterator[int]:
    """A stopped VM to clone, in a range of this module's own, emptied afterwards."""
    remove_guests(pve, MINE)
    config = {"memory": 512, "cores": 1, "ostype": "l26", "net0": "virtio=BC:24:11:89:00:01,bridge=vmbr0"}
    pve.add_vm(8900, "clonesource", node="pve1", status="stopped", config=config)
    try:
        yield 8900
    finally:
        pve.late_answers.clear()
        remove_guests(pve, MINE)


def clones_sent(pve: DemoPve, seen: int) -> int:
    """How many clone calls the fake received since index `seen`."""
    return len([r for r in pve.requests[seen:] if r[0] == "POST" and r[1].endswith("/qemu/8900/clone")])


def copies(pve: DemoPve, name: str) -> list[int]:
    """The VMIDs of the guests the clone made."""
    return [vm.vmid for vm in pve.vms if vm.name == name]


def retry_until_known(send: Any) -> httpx.Response:
    """Send again while the answer is "still being found out" (409); the first other answer."""
    deadline = time.monotonic() + 40
    while True:
        answer: httpx.Response = send()
        if answer.status_code != 409 or "still being found out" not in answer.text:
            return answer
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.5)


def test_an_api_retry_after_a_time_out_answers_the_first_call(
    impatient: AppServer, settings: Settings, pve: DemoPve, source: int
) -> None:
    """504 first; the same key answers 409 until the reconciler finds the task, then that task: one clone."""
    token = make_token(settings, make_user(settings, "operator"))
    head = {"Authorization": f"Bearer {token}", "Idempotency-Key": "clone-8900-once"}
    body = {"newid": 8901, "name": "copy-api"}
    seen = len(pve.requests)
    pve.answer_late("POST", "/qemu/8900/clone", 3.0)  # applied at once, answered after 3 s; the app waits 1 s
    with httpx.Client(base_url=impatient.url, headers=head, timeout=30) as client:
        first = client.post(f"/api/v1/guests/{source}/actions/clone", json=body)
        assert first.status_code == 504, first.text
        again = client.post(f"/api/v1/guests/{source}/actions/clone", json=body)
        assert again.status_code == 409 and "still being found out" in again.json()["detail"]
        known = retry_until_known(lambda: client.post(f"/api/v1/guests/{source}/actions/clone", json=body))
    assert known.status_code == 200, known.text
    assert f":qmclone:{source}:" in known.json()["upid"]
    assert clones_sent(pve, seen) == 1
    assert copies(pve, "copy-api") == [8901]


def test_a_form_sent_again_after_a_time_out_answers_the_first_call(
    impatient: AppServer, settings: Settings, pve: DemoPve, source: int
) -> None:
    """The clone form's one-time key works the same way: nothing is sent twice."""
    user = make_user(settings, "operator")
    seen = len(pve.requests)
    pve.answer_late("POST", "/qemu/8900/clone", 3.0)
    with httpx.Client(base_url=impatient.url, follow_redirects=False, timeout=30) as client:
        assert login(client, user).status_code == 303
        csrf = csrf_from(client.get(f"/guests/{source}").text)
        form = {
            "csrf_token": csrf,
            "idempotency_key": "form-clone-8900",
            "newid": "8902",
            "name": "copy-form",
        }
        path = f"/guests/{source}/actions/clone"
        first = client.post(path, data=form, headers={"HX-Request": "true"})
        assert first.status_code == 504, first.text
        known = retry_until_known(lambda: client.post(path, data=form, headers={"HX-Request": "true"}))
    assert known.status_code == 200, known.text
    assert clones_sent(pve, seen) == 1
    assert copies(pve, "copy-form") == [8902]
