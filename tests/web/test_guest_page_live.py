"""The guest page keeps up with its guest: actions at the top, requests still open beside them, and a refresh
that redraws the actions as soon as the state they depend on changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.base import set_lock
from pvesim.fake import DemoPve
from tests.approval_guests import People
from tests.factories import make_user, signed_in
from tests.servers import AppServer

HTMX = {"HX-Request": "true"}
MINE = (9842, 9843)


@pytest.fixture
def my_vms(pve: DemoPve) -> Iterator[list[Any]]:
    """Stopped VMs 9842 and 9843 with one disk each; removed afterwards."""
    vms = [
        pve.add_vm(
            v, f"live{v}", node="pve1", status="stopped", config={"scsi0": f"local-lvm:vm-{v}-disk-0,size=8G"}
        )
        for v in MINE
    ]
    yield vms
    for vm in vms:
        pve.vms.remove(vm)


@pytest.fixture
def operator(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in operator."""
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        yield http


def shown_key(html: str) -> str:
    """The state_key the page drew its actions with."""
    found = re.search(r'id="guest-actions" data-state="([0-9a-f]{16})"', html)
    assert found, "the page has its actions"
    return found.group(1)


def test_the_actions_come_before_everything_else_about_the_guest(operator: httpx.Client, my_vms: Any) -> None:
    html = operator.get("/guests/9842").text
    at = {name: html.index(f'id="{name}"') for name in ("guest-head", "guest-toolbar", "action-result")}
    below = {name: html.index(f'id="{name}"') for name in ("history", "guest-config", "guest-snapshots")}
    assert at["guest-head"] < at["guest-toolbar"] < at["action-result"] < min(below.values()), (at, below)
    toolbar = html[at["guest-toolbar"] : at["action-result"]]
    for part in ('data-op="start"', 'id="snapshot-form"', 'id="clone-form"', 'id="delete-form"'):
        assert part in toolbar, part


def test_a_request_waiting_for_a_decision_shows_at_the_top_until_it_is_decided(
    app_server: AppServer,
    settings: Settings,
    client: httpx.Client,
    operator: httpx.Client,
    crew: People,
    my_vms: Any,
) -> None:
    asked = client.post("/api/v1/guests/9842/actions/delete", json={"reason": "gone"}, headers=crew.alice)
    assert asked.status_code == 202, asked.text
    rid = asked.json()["request_id"]
    with signed_in(app_server.url, make_user(settings, "viewer")) as viewer:
        html = viewer.get("/guests/9842").text
    line = re.search(rf'<li [^>]*data-request="{rid}">(.*?)</li>', html, re.S)
    assert line, "a viewer sees it too"
    text = " ".join(re.sub(r"<[^>]+>", "", line.group(1)).split())
    assert (
        text
        == f"Delete VM 9842 live9842 and its disks is waiting for approval (asked by {crew.alice_name} just now)"
    )
    assert re.search(rf'href="[^"]*/approvals/{rid}"', line.group(1))
    assert 'id="guest-toolbar"' not in html, "a viewer gets no actions"
    key = shown_key(operator.get("/guests/9842").text)
    cancelled = client.post(f"/api/v1/requests/{rid}/cancel", json={}, headers=crew.alice)
    assert cancelled.status_code == 200, cancelled.text
    assert f'data-request="{rid}"' not in operator.get("/guests/9842").text
    refreshed = operator.get(f"/guests/9842?shown={key}", headers=HTMX).text
    assert 'id="guest-actions"' in refreshed and f'data-request="{rid}"' not in refreshed, (
        "the open page follows"
    )


def test_the_refresh_redraws_the_actions_when_the_guest_changed(
    operator: httpx.Client, pve: DemoPve, my_vms: Any
) -> None:
    key = shown_key(operator.get("/guests/9843").text)
    same = operator.get(f"/guests/9843?shown={key}", headers=HTMX)
    assert same.status_code == 200
    assert 'id="guest-detail"' in same.text and 'id="guest-head" hx-swap-oob="true"' in same.text
    assert 'id="guest-actions"' not in same.text, "nothing changed: a form being filled in is left alone"
    pve.vm(9843).status = "running"
    changed = operator.get(f"/guests/9843?shown={key}", headers=HTMX).text
    actions = re.search(r'<div id="guest-actions" data-state="([0-9a-f]{16})" hx-swap-oob="true">', changed)
    assert actions and actions.group(1) != key
    assert re.search(r'id="guest-status">running<', changed)
    assert 'data-op="shutdown"' in changed and 'data-op="start"' not in changed
    assert 'id="delete-form"' not in changed and 'id="template-form"' not in changed
    assert "Convert to template or Delete guest, shut it down first" in changed
    assert 'id="snapshot-now">the running state<' in changed


def test_a_refresh_with_a_malformed_key_is_refused_naming_it(operator: httpx.Client, my_vms: Any) -> None:
    answer = operator.get("/guests/9843?shown=<b>", headers={"Accept": "application/json"})
    assert answer.status_code == 422 and "shown" in answer.text


def test_an_action_answers_with_its_task_and_a_toast(operator: httpx.Client, my_vms: Any) -> None:
    answer = operator.post("/guests/9843/actions/start", data={}, headers=HTMX)
    assert answer.status_code == 200, answer.text
    assert 'id="action-task-link"' in answer.text
    toast = re.search(r'<div hx-swap-oob="afterbegin:#toasts">(.*?)</div>\s*$', answer.text, re.S)
    assert toast and "Start VM 9843 live9843 on pve1: started." in toast.group(1)


def test_a_locked_guest_s_actions_say_why_they_wait(
    operator: httpx.Client, pve: DemoPve, my_vms: Any
) -> None:
    set_lock(pve.vm(9843), "backup")
    html = operator.get("/guests/9843").text
    note = re.search(r'id="guest-locked-note">(.*?)</p>', html, re.S)
    assert note and "a lock on VM 9843 live9843 (backup): most actions are refused" in note.group(1)
    key = shown_key(html)
    set_lock(pve.vm(9843), None)
    refreshed = operator.get(f"/guests/9843?shown={key}", headers=HTMX).text
    assert 'id="guest-actions"' in refreshed and 'id="guest-locked-note"' not in refreshed
