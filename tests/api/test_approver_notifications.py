"""A waiting request is announced to whoever may still approve it: a group's channel hears of what needs that
group, the general channel only while any approver could complete it, never naming the requester; the API and
the request page say who may still approve."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.services.accounts import set_user_groups
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, settle
from tests.conftest import app_settings
from tests.factories import make_token, make_user, run_async, signed_in
from tests.fakepve_thread import ServedFake
from tests.receivers import Receiver
from tests.servers import AppServer

SECRET = "webhook-secret-of-the-routing-test"
# A group and a tag of this test's own: the session's database holds every other test's approvers.
PUBLIC = "https://proxgate.example"
GROUP = f"dba-{uuid.uuid4().hex[:8]}"
TAG = f"db-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The webhook, a general Apprise channel and the group's Apprise channel, on loopback."""
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def routed_app(
    served_fake: ServedFake, database_url: str, tmp_path: Path, receiver: Receiver
) -> Iterator[AppServer]:
    """An app whose rule for the tag needs two approvals, one from the group, with three targets."""
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'[[rule]]\nname = "databases"\noperations = ["delete"]\ntags = ["{TAG}"]\n'
        f'approvals = 2\ngroups = ["{GROUP}"]\n'
    )
    hook = f"http://127.0.0.1:{receiver.port}"
    settings = app_settings(
        served_fake,
        database_url,
        tmp_path,
        policy_file=policy,
        notify_webhook_url=f"{hook}/hook",
        notify_webhook_secret=SECRET,
        notify_interval_seconds=0.2,
        notify_apprise_urls=f"json://127.0.0.1:{receiver.port}/general {GROUP}=json://127.0.0.1:{receiver.port}/group",
        public_url=PUBLIC,
    )
    server = AppServer(settings)
    yield server
    server.stop()


def person(settings: Settings, role: str, groups: str = "") -> tuple[str, dict[str, str]]:
    """A new user with this role and groups, and the bearer headers of a token acting with that role."""
    name = make_user(settings, role)
    if groups:
        run_async(set_user_groups(settings, name, groups))
    return name, {"Authorization": f"Bearer {make_token(settings, name, role)}"}


def about(body: bytes, rid: int) -> bool:
    """Whether a delivered message is about this request: the outbox is shared with every test of the session,
    whose undelivered messages any app with targets of the same names sends on."""
    message = json.loads(body)
    if "request" in message:
        return bool(message["request"]["id"] == rid)
    return f"{PUBLIC}/approvals/{rid}" in str(message.get("message", "")).splitlines()


def bodies(receiver: Receiver, path: str, rid: int, count: int, timeout: float = 15) -> list[dict[str, Any]]:
    """The first `count` messages about the request delivered to this path, decoded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [json.loads(b) for p, _h, b in list(receiver.received) if p == path and about(b, rid)]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{path}: {receiver.received}")


def delivered(receiver: Receiver, rid: int) -> list[str]:
    """The paths of every message about the request delivered so far."""
    return [path for path, _headers, body in list(receiver.received) if about(body, rid)]


def test_each_message_goes_to_whoever_may_still_approve_and_never_names_the_requester(
    routed_app: AppServer, pve: DemoPve, scratch: None, receiver: Receiver
) -> None:
    settings = routed_app.app.state.runtime.settings
    # The requester is an approver of the group herself: still nobody asks her to approve her own request.
    asker, asker_token = person(settings, "approver", GROUP)
    web, web_token = person(settings, "approver", "web")
    dba1, dba1_token = person(settings, "approver", GROUP)
    dba2, _ = person(settings, "approver", f"{GROUP},ops")
    viewer, viewer_token = person(settings, "viewer", GROUP)
    vm = add_vm(pve, 9370)
    vm.config["tags"] = TAG
    with httpx.Client(base_url=routed_app.url, timeout=30) as client:
        rid = ask(client, asker_token, 9370, "delete", reason="retired database").json()["request_id"]
        asked = bodies(receiver, "/hook", rid, 1)[0]
        assert asked["event"] == "requested" and asked["request"]["id"] == rid
        # Two approvals, one from the group: any approver may give the other one.
        assert asked["to"]["approvers"] is True and asked["to"]["groups"] == [GROUP]
        assert {web, dba1, dba2} <= set(asked["to"]["users"]) and asker not in asked["to"]["users"]

        answer = client.get(f"/api/v1/requests/{rid}", headers=web_token).json()["still_needed"]
        assert answer["approvals"] == 2 and answer["only_from_groups"] is False
        assert answer["groups"] == [{"name": GROUP, "members": sorted([dba1, dba2])}]
        first = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9370"}, headers=web_token)
        assert first.status_code == 200, first.text
        assert first.json()["still_needed"] == {
            "approvals": 1,
            "only_from_groups": True,
            "groups": [{"name": GROUP, "members": sorted([dba1, dba2])}],
            "people": sorted([dba1, dba2]),
        }
        # A viewer learns how many and from which group, not who.
        seen = client.get(f"/api/v1/requests/{rid}", headers=viewer_token).json()["still_needed"]
        assert seen == {
            "approvals": 1,
            "only_from_groups": True,
            "groups": [{"name": GROUP, "members": None}],
            "people": None,
        }

        names = ", ".join(sorted([dba1, dba2]))
        with signed_in(routed_app.url, web) as approver_page:
            page = approver_page.get(f"/approvals/{rid}").text
        assert f'id="request-approvers">Who may: {names}; in {GROUP}: {names}</span>' in page
        with signed_in(routed_app.url, viewer) as viewer_page:
            assert 'id="request-approvers"' not in viewer_page.get(f"/approvals/{rid}").text

        second = bodies(receiver, "/hook", rid, 2)[1]
        assert second["event"] == "approved" and second["request"]["status"] == "pending"
        assert second["to"] == {"approvers": False, "groups": [GROUP], "users": sorted([dba1, dba2])}
        assert second["title"].startswith("Approved, more approval needed: Delete VM 9370")
        grouped = bodies(receiver, "/group", rid, 2)
        assert [m["title"].split(":")[0] for m in grouped] == [
            "Approval needed",
            "Approved, more approval needed",
        ]
        assert f"May approve: {names}" in grouped[1]["message"]

        last = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9370"}, headers=dba1_token)
        assert last.status_code == 200, last.text
        assert settle(client, dba1_token, rid)["status"] == "succeeded"
        final = bodies(receiver, "/hook", rid, 3)[2]
        assert final["event"] == "approved" and final["to"] is None
        general = bodies(receiver, "/general", rid, 2)
        assert [m["title"].split(":")[0] for m in general] == ["Approval needed", "Request approved"]
    time.sleep(0.6)  # a message written for the wrong channel would be delivered by now
    paths = delivered(receiver, rid)
    # The general channel never heard "only the group can finish it"; the group's never heard the decision.
    assert paths.count("/general") == 2 and paths.count("/group") == 2 and paths.count("/hook") == 3
    assert pve.vm(9370) is None


def test_break_glass_reaches_every_channel_and_names_every_approver(
    routed_app: AppServer, pve: DemoPve, scratch: None, receiver: Receiver
) -> None:
    settings = routed_app.app.state.runtime.settings
    _asker, asker_token = person(settings, "operator")
    plain, _ = person(settings, "approver")
    admin = make_user(settings, "admin")
    vm = add_vm(pve, 9371)
    vm.config["tags"] = TAG
    with (
        httpx.Client(base_url=routed_app.url, timeout=30) as client,
        signed_in(routed_app.url, admin) as browser,
    ):
        rid = ask(client, asker_token, 9371, "delete", reason="compromised").json()["request_id"]
        ran = browser.post(f"/api/v1/requests/{rid}/break-glass", json={"reason": "it attacks others"})
        assert ran.status_code == 200, ran.text
        glass = bodies(receiver, "/hook", rid, 2)[1]
        assert glass["event"] == "break-glass" and glass["to"]["approvers"] is True
        assert {plain, admin} <= set(glass["to"]["users"])
        grouped = bodies(receiver, "/group", rid, 2)
        assert grouped[1]["title"].startswith("Break-glass: run without approval, review needed")
        assert bodies(receiver, "/general", rid, 2)[1]["title"].startswith("Break-glass")
        with signed_in(routed_app.url, plain) as approver_page:
            page = approver_page.get(f"/approvals/{rid}").text
        assert 'id="request-approvers"' not in page  # it ran: nobody needs to approve it any more
