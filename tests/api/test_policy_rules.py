"""Policy as configuration: rules with approvals from named groups, freezes, the policy check, reloads audited."""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.services.accounts import set_user_groups
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, select_rows, sent, settle
from tests.conftest import app_settings
from tests.factories import make_token, make_user, run_async, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

RULES = """
[[rule]]
name = "production databases"
operations = ["delete", "rollback", "restore-overwrite"]
tags = ["prod"]
approvals = 2
groups = ["dba"]

[[rule]]
name = "network gear"
tags = ["router"]
operations = ["destructive"]
approvals = 1
own_group_approves = false

[[window]]
name = "maintenance"
operations = ["resize"]
tags = ["maint"]
cron = "0 2 * * SAT"
hours = 4
"""


def freeze_text(name: str, tag: str, start: datetime, until: datetime) -> str:
    """A freeze of destructive changes on guests with the tag, between the two times."""
    return f"""
[[freeze]]
name = "{name}"
operations = ["destructive"]
tags = ["{tag}"]
from = "{start.isoformat()}"
until = "{until.isoformat()}"
"""


@pytest.fixture(scope="module")
def policy_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The policy file the module's app reads: the rules, a freeze holding now and one in ten days (each for
    guests with its tag)."""
    path = tmp_path_factory.mktemp("policy") / "policy.toml"
    now = datetime.now(UTC)
    path.write_text(
        RULES
        + freeze_text("year-end freeze", "frozen", now - timedelta(hours=1), now + timedelta(days=3))
        + freeze_text("spring freeze", "later", now + timedelta(days=10), now + timedelta(days=11))
    )
    return path


@pytest.fixture(scope="module")
def ruled_app(
    served_fake: ServedFake, database_url: str, tmp_path_factory: pytest.TempPathFactory, policy_path: Path
) -> Iterator[AppServer]:
    """An app with the policy file."""
    settings = app_settings(
        served_fake, database_url, tmp_path_factory.mktemp("ruled"), policy_file=policy_path
    )
    server = AppServer(settings)
    yield server
    server.stop()


def approver(settings: Settings, groups: str) -> dict[str, str]:
    """Bearer headers of a new approver in these groups."""
    name = make_user(settings, "approver")
    run_async(set_user_groups(settings, name, groups))
    return {"Authorization": f"Bearer {make_token(settings, name, 'approver')}"}


def test_a_tagged_guest_needs_two_approvers_one_of_them_from_the_named_group(
    ruled_app: AppServer, pve: DemoPve, scratch: None
) -> None:
    settings = ruled_app.app.state.runtime.settings
    crew = people(settings)
    web, web2, dba = (approver(settings, g) for g in ("web", "web,ops", "dba"))
    vm = add_vm(pve, 9350)
    vm.config["tags"] = "prod"
    seen = len(pve.requests)
    with httpx.Client(base_url=ruled_app.url, timeout=30) as client:
        check = client.get(
            "/api/v1/policy/check", params={"operation": "delete", "vmid": 9350}, headers=crew.alice
        )
        assert check.json() == {
            "operation": "delete",
            "vmid": 9350,
            "needs_approval": True,
            "rule": "production databases",
            "approvals": 2,
            "groups": ["dba"],
            "own_group_approves": True,
            "freeze": None,
            "window": None,
        }
        with signed_in(ruled_app.url, make_user(settings, "viewer")) as browser:
            page = browser.get("/guests/9350").text
        assert (
            "<strong>Delete guest</strong>: 2 approvals, at least one from each of dba "
            "(rule &#39;production databases&#39;).</li>"
        ) in page
        asked = ask(client, crew.alice, 9350, "delete", reason="retired database")
        assert asked.status_code == 202, asked.text
        rid = asked.json()["request_id"]
        first = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9350"}, headers=web).json()
        assert first["status"] == "pending" and first["policy"]["missing_groups"] == ["dba"]
        assert first["policy"]["may_still_approve"].startswith("1 more approval: an approver other than the")
        second = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9350"}, headers=web2)
        assert second.status_code == 403
        assert second.json()["detail"] == (
            "Rule 'production databases' still needs an approver from dba; you are in ops, web."
        )
        assert client.get(f"/api/v1/requests/{rid}", headers=web).json()["status"] == "pending"
        assert pve.vm(9350) is not None and not sent(pve, seen, "DELETE", "/qemu/9350")
        last = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9350"}, headers=dba)
        assert last.status_code == 200, last.text
        done = settle(client, dba, rid)
        assert done["status"] == "succeeded", done
        assert [a["groups"] for a in done["approvals"]] == [["web"], ["dba"]]
        assert pve.vm(9350) is None


def test_an_untagged_guest_keeps_the_settings(ruled_app: AppServer, pve: DemoPve, scratch: None) -> None:
    crew = people(ruled_app.app.state.runtime.settings)
    add_vm(pve, 9351)
    with httpx.Client(base_url=ruled_app.url, timeout=30) as client:
        check = client.get(
            "/api/v1/policy/check", params={"operation": "delete", "vmid": 9351}, headers=crew.bob
        )
        assert check.json()["rule"] == "settings" and check.json()["approvals"] == 1
        rid = ask(client, crew.alice, 9351, "delete", reason="old").json()["request_id"]
        client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9351"}, headers=crew.bob)
        assert settle(client, crew.bob, rid)["status"] == "succeeded"


def test_a_freeze_refuses_and_says_until_when(
    ruled_app: AppServer, pve: DemoPve, scratch: None, policy_path: Path
) -> None:
    crew = people(ruled_app.app.state.runtime.settings)
    vm = add_vm(pve, 9352)
    vm.config["tags"] = "frozen"
    until = select_until(policy_path)
    with httpx.Client(base_url=ruled_app.url, timeout=30) as client:
        check = client.get(
            "/api/v1/policy/check", params={"operation": "delete", "vmid": 9352}, headers=crew.bob
        )
        assert check.json()["freeze"] == {"name": "year-end freeze", "until": until}
        refused = ask(client, crew.alice, 9352, "delete", reason="cleanup")
        assert refused.status_code == 409
        assert (
            refused.json()["detail"] == f"year-end freeze: no destructive change is asked for until {until}."
        )
        # Reversible work goes on during the freeze.
        assert ask(client, crew.alice, 9352, "start").status_code in (200, 202)
    assert pve.vm(9352) is not None


def select_until(path: Path, which: int = 0) -> str:
    """A freeze's end as Proxgate writes it."""
    until = datetime.fromisoformat(tomllib.loads(path.read_text())["freeze"][which]["until"])
    return until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def test_an_approved_request_does_not_run_in_a_freeze(
    ruled_app: AppServer, pve: DemoPve, scratch: None, policy_path: Path
) -> None:
    runtime = ruled_app.app.state.runtime
    crew = people(runtime.settings)
    vm = add_vm(pve, 9353)
    vm.config["tags"] = "later"
    seen = len(pve.requests)
    clock = runtime.approvals.policy.clock
    with httpx.Client(base_url=ruled_app.url, timeout=30) as client:
        rid = ask(client, crew.alice, 9353, "delete", reason="old").json()["request_id"]
        clock.move(
            timedelta(days=10, hours=1)
        )  # into the spring freeze, between the request and its approval
        try:
            client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9353"}, headers=crew.bob)
            done = settle(client, crew.bob, rid)
        finally:
            clock.offset = timedelta(0)
    assert done["status"] == "failed"
    until = select_until(policy_path, 1)
    assert done["result"]["message"].startswith(f"Refused: spring freeze holds until {until}")
    assert pve.vm(9353) is not None and not sent(pve, seen, "DELETE", "/qemu/9353")


def test_a_policy_change_is_audited_with_its_diff_and_a_broken_one_keeps_the_last_good(
    ruled_app: AppServer, policy_path: Path
) -> None:
    runtime = ruled_app.app.state.runtime
    clock = runtime.approvals.policy.clock
    viewer = {
        "Authorization": f"Bearer {make_token(runtime.settings, make_user(runtime.settings, 'viewer'))}"
    }
    before = policy_path.read_text()

    def looked_at() -> None:
        """Move the clock past the few seconds between looks at the file, and read the policy."""
        clock.move(timedelta(seconds=5))
        answer = client.get("/api/v1/policy/check", params={"operation": "delete"}, headers=viewer)
        assert answer.status_code == 200, answer.text

    client = httpx.Client(base_url=ruled_app.url, timeout=30)
    try:
        policy_path.write_text(before.replace("approvals = 2", "approvals = 3"))
        looked_at()
        rows = select_rows(
            runtime.settings,
            "SELECT outcome, params FROM audit_events WHERE operation = 'policy-change' ORDER BY seq DESC LIMIT 1",
        )
        outcome, params = rows[0]
        assert outcome == "succeeded"
        assert "-approvals = 2\n+approvals = 3\n" in json.loads(params)["diff"]
        policy_path.write_text(before + "\n[[rule]]\nname = 'x'\napprovals = 9\n")
        looked_at()
        source = runtime.approvals.policy.source
        assert source.error and "'approvals' must be a whole number from 1 to 5" in source.error
        assert source.document.rules[0].approvals == 3  # the last good version stays in force
        with signed_in(ruled_app.url, make_user(runtime.settings, "admin")) as admin:
            page = admin.get("/admin/policy").text
        assert "The newest version is not in force:" in page and "from 1 to 5" in page
        assert "<strong>production databases</strong>: 3 approvals, at least one from each of dba." in page
    finally:
        policy_path.write_text(before)
        looked_at()
        client.close()


def test_break_glass_runs_at_once_and_leaves_a_review_another_person_completes(
    ruled_app: AppServer, pve: DemoPve, scratch: None
) -> None:
    settings = ruled_app.app.state.runtime.settings
    crew = people(settings)
    admin = make_user(settings, "admin")
    admin_token = {"Authorization": f"Bearer {make_token(settings, admin, 'admin')}"}
    vm = add_vm(pve, 9354)
    vm.config["tags"] = "prod"  # two approvals, one from dba: none are given
    with (
        httpx.Client(base_url=ruled_app.url, timeout=30) as client,
        signed_in(ruled_app.url, admin) as browser,
    ):
        rid = ask(client, crew.alice, 9354, "delete", reason="compromised").json()["request_id"]
        by_token = client.post(
            f"/api/v1/requests/{rid}/break-glass", json={"reason": "fire"}, headers=admin_token
        )
        assert by_token.status_code == 403 and "never an API token" in by_token.json()["detail"]
        by_approver = client.post(
            f"/api/v1/requests/{rid}/break-glass", json={"reason": "fire"}, headers=crew.bob
        )
        assert by_approver.status_code == 403
        assert pve.vm(9354) is not None
        ran = browser.post(
            f"/api/v1/requests/{rid}/break-glass", json={"reason": "the guest is attacking others"}
        )
        assert ran.status_code == 200, ran.text
        done = settle(client, crew.bob, rid)
        assert done["status"] == "succeeded" and pve.vm(9354) is None
        assert done["break_glass"]["by"] == admin and done["break_glass"]["reviewed_by"] is None
        due = client.get("/api/v1/requests", params={"status": "needs-review"}, headers=crew.bob).json()
        assert rid in [r["id"] for r in due["items"]]
        assert "Break-glass: review due." in browser.get("/").text
        own = browser.post(f"/api/v1/requests/{rid}/review", json={"comment": "fine"})
        assert own.status_code == 403 and "someone else has to review it" in own.json()["detail"]
        reviewed = client.post(
            f"/api/v1/requests/{rid}/review", json={"comment": "justified"}, headers=crew.bob
        )
        assert reviewed.status_code == 200, reviewed.text
        assert reviewed.json()["break_glass"]["reviewed_by"] == crew.bob_name
        due = client.get("/api/v1/requests", params={"status": "needs-review"}, headers=crew.bob).json()
        assert rid not in [r["id"] for r in due["items"]]
        events = select_rows(
            settings, "SELECT outcome FROM audit_events WHERE approval_id = :rid ORDER BY seq", rid=rid
        )
        assert [e[0] for e in events][:2] == ["requested", "denied"]
        assert "break-glass" in [e[0] for e in events] and [e[0] for e in events][-1] == "reviewed"


def ended(client: httpx.Client, headers: dict[str, str], rid: int, timeout: float = 20) -> dict[str, object]:
    """The request once the window loop (a round every two seconds) has run or expired it."""
    deadline = time.monotonic() + timeout
    while (body := client.get(f"/api/v1/requests/{rid}", headers=headers).json())["status"] in (
        "scheduled",
        "executing",
    ):
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    return dict(body)


def next_saturday_half_past_midnight() -> datetime:
    """A time outside the Saturday 02:00-06:00 window, 90 minutes before it opens."""
    now = datetime.now(UTC)
    days = (5 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=0, minute=30, second=0, microsecond=0)


@pytest.mark.parametrize("late", [False, True], ids=["runs-at-its-window", "expires-when-it-passes"])
def test_a_windowed_request_waits_for_its_window(
    ruled_app: AppServer, pve: DemoPve, scratch: None, late: bool
) -> None:
    runtime = ruled_app.app.state.runtime
    crew = people(runtime.settings)
    vm = add_vm(pve, 9356)
    vm.config["tags"] = "maint"
    clock = runtime.approvals.policy.clock
    clock.offset = next_saturday_half_past_midnight() - datetime.now(UTC)
    seen = len(pve.requests)
    try:
        with httpx.Client(base_url=ruled_app.url, timeout=30) as client:
            rid = ask(client, crew.alice, 9356, "resize", disk="scsi0", size="16G", reason="grow").json()[
                "request_id"
            ]
            approved = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob).json()
            assert approved["status"] == "scheduled", approved
            opens = clock.now().strftime("%Y-%m-%dT02:00:00")
            assert approved["window"]["run_at"].startswith(opens)
            assert not sent(pve, seen, "PUT", "/qemu/9356/resize")
            with signed_in(ruled_app.url, make_user(runtime.settings, "viewer")) as browser:
                page = browser.get(f"/approvals/{rid}").text
                assert "Runs only in the maintenance window “maintenance”: at" in page
            clock.move(timedelta(hours=7) if late else timedelta(hours=2))
            done = ended(client, crew.bob, rid)
        if late:
            assert done["status"] == "expired" and not sent(pve, seen, "PUT", "/qemu/9356/resize")
        else:
            assert done["status"] == "succeeded", done
            assert sent(pve, seen, "PUT", "/qemu/9356/resize")
    finally:
        clock.offset = timedelta(0)


def test_a_rule_can_refuse_approvers_from_the_requesters_own_group(
    ruled_app: AppServer, pve: DemoPve, scratch: None
) -> None:
    settings = ruled_app.app.state.runtime.settings
    requester = make_user(settings, "operator")
    run_async(set_user_groups(settings, requester, "network"))
    asker = {"Authorization": f"Bearer {make_token(settings, requester)}"}
    colleague, outsider = approver(settings, "network,ops"), approver(settings, "storage")
    vm = add_vm(pve, 9357)
    vm.config["tags"] = "router"
    with httpx.Client(base_url=ruled_app.url, timeout=30) as client:
        rid = ask(client, asker, 9357, "delete", reason="replaced").json()["request_id"]
        shown = client.get(f"/api/v1/requests/{rid}", headers=outsider).json()["policy"]
        assert shown["rule"] == "network gear" and shown["own_group_approves"] is False
        assert "outside their groups (network)" in shown["may_still_approve"]
        refused = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9357"}, headers=colleague)
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "Rule 'network gear' needs an approver outside the requester's groups; you share network with them."
        )
        client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9357"}, headers=outsider)
        assert settle(client, outsider, rid)["status"] == "succeeded"
