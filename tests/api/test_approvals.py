"""The two-person rule through the JSON API: request, refuse self-approval, approve once, audit the story."""

from __future__ import annotations

import html
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import (
    People,
    add_ct,
    add_vm,
    ask,
    people,
    sent,
    settle,
    sql,
    stored_where,
)
from tests.factories import signed_in
from tests.servers import AppServer


def audit_story(client: httpx.Client, headers: dict[str, str], vmid: int) -> list[tuple[str, Any, Any]]:
    """(outcome, approval id, upid) of the guest's audit events, oldest first."""
    items = client.get("/api/v1/audit", params={"vmid": vmid}, headers=headers).json()["items"]
    return [(e["outcome"], e["approval_id"], e["upid"]) for e in reversed(items)]


def test_a_deletion_waits_for_a_second_person_and_runs_once_approved(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9301)
    seen = len(pve.requests)
    asked = ask(client, crew.alice, 9301, "delete", reason="decommissioned", purge=True)
    assert asked.status_code == 202, asked.text
    rid = asked.json()["request_id"]
    assert asked.json()["status"] == "pending" and asked.json()["url"].endswith(f"/approvals/{rid}")
    assert pve.vm(9301) is not None and not sent(pve, seen, "DELETE", "/qemu/9301")

    own = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9301"}, headers=crew.alice)
    assert own.status_code == 403 and "approver role" in own.json()["detail"]
    untyped = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob)
    assert untyped.status_code == 422 and untyped.json()["field"] == "confirm"

    approved = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9301"}, headers=crew.bob)
    assert approved.status_code == 200, approved.text
    done = settle(client, crew.bob, rid)
    assert done["status"] == "succeeded", done
    assert done["upid"] and ":qmdestroy:9301:" in done["upid"]
    assert done["result"]["exitstatus"] == "OK"
    assert [a["by"] for a in done["approvals"]] == [crew.bob_name]
    assert pve.vm(9301) is None
    assert len(sent(pve, seen, "DELETE", "/qemu/9301")) == 1

    story = audit_story(client, crew.bob, 9301)
    outcomes = [o for o, _rid, _upid in story]
    # alice may not approve; bob first forgot to type the VMID; then the approval and the run.
    assert outcomes[-7:] == ["requested", "denied", "invalid", "approved", "intent", "started", "succeeded"]
    assert all(r == rid for _o, r, _u in story[-7:])
    assert story[-1][2] == done["upid"]


def test_an_approver_or_admin_cannot_approve_their_own_request_by_any_route(
    client: httpx.Client, settings: Settings, crew: People, pve: DemoPve, scratch: None
) -> None:
    from tests.factories import make_token, make_user

    add_vm(pve, 9314)
    admin = make_user(settings, "admin")
    admin_tokens = [{"Authorization": f"Bearer {make_token(settings, admin, 'admin')}"} for _ in range(2)]
    rid = ask(client, admin_tokens[0], 9314, "delete", reason="mine").json()["request_id"]
    for headers in admin_tokens:  # the token that asked, and another token of the same person
        own = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9314"}, headers=headers)
        assert own.status_code == 403 and "another approver" in own.json()["detail"]
    rid2 = ask(client, crew.bob, 9315 if add_vm(pve, 9315) else 0, "delete", reason="b").json()["request_id"]
    assert (
        client.post(
            f"/api/v1/requests/{rid2}/approve", json={"confirm": "9315"}, headers=crew.bob
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["status"] == "pending"
    assert pve.vm(9314) is not None and pve.vm(9315) is not None


def test_mine_lists_only_the_callers_own_requests(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9317)
    add_vm(pve, 9318)
    mine = ask(client, crew.alice, 9317, "delete", reason="mine").json()["request_id"]
    theirs = ask(client, crew.bob, 9318, "delete", reason="theirs").json()["request_id"]
    listed = client.get("/api/v1/requests", params={"mine": "true", "limit": 1}, headers=crew.alice).json()
    assert [r["id"] for r in listed["items"]] == [mine] and listed["total"] == 1
    assert listed["next_cursor"] is None and listed["items"][0]["requested"]["by"] == crew.alice_name
    everyone = client.get("/api/v1/requests", params={"limit": 500}, headers=crew.alice).json()["items"]
    assert {mine, theirs} <= {r["id"] for r in everyone}
    for rid, who in ((mine, crew.alice), (theirs, crew.bob)):  # no pending request left for other tests
        assert client.post(f"/api/v1/requests/{rid}/cancel", headers=who).status_code == 200


def test_a_reason_is_required_and_nothing_is_stored_without_one(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9302)
    answer = ask(client, crew.alice, 9302, "delete")
    assert answer.status_code == 422 and answer.json()["field"] == "reason"
    listed = client.get("/api/v1/requests", params={"vmid": 9302}, headers=crew.bob).json()
    assert listed == {"items": [], "total": 0, "next_cursor": None}


def test_a_secret_in_a_reason_or_comment_is_refused_and_nothing_is_stored(
    client: httpx.Client, app_server: AppServer, settings: Settings, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9316)
    pve_secret, password = str(uuid.uuid4()), f"hunter-{uuid.uuid4().hex}"

    leaked = ask(client, crew.alice, 9316, "delete", reason=f"gone. PVEAPIToken=root@pam!ci={pve_secret}")
    assert leaked.status_code == 422 and leaked.json()["field"] == "reason", leaked.text
    assert "Proxmox API token" in leaked.json()["detail"] and "Nothing was stored" in leaked.json()["detail"]
    assert pve_secret not in leaked.text
    listed = client.get("/api/v1/requests", params={"vmid": 9316}, headers=crew.bob).json()
    assert listed["items"] == []

    rid = ask(client, crew.alice, 9316, "delete", reason="gone").json()["request_id"]
    approve = {"comment": f"ok, root password: {password}", "confirm": "9316"}
    approved = client.post(f"/api/v1/requests/{rid}/approve", json=approve, headers=crew.bob)
    assert approved.status_code == 422 and approved.json()["field"] == "comment", approved.text
    key = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{password}\n-----END OPENSSH PRIVATE KEY-----"
    rejected = client.post(f"/api/v1/requests/{rid}/reject", json={"comment": key}, headers=crew.bob)
    assert rejected.status_code == 422 and rejected.json()["field"] == "comment", rejected.text
    assert "private key" in rejected.json()["detail"]

    still = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    assert still["status"] == "pending" and still["approvals"] == [] and pve.vm(9316) is not None
    assert stored_where(settings, pve_secret) == [] and stored_where(settings, password) == []
    with signed_in(app_server.url, crew.bob_name) as http:
        for export in ("/audit/export.csv", "/audit/export.jsonl"):
            body = http.get(export, params={"vmid": 9316}).text
            assert "requested" in body and pve_secret not in body and password not in body
    assert client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice).status_code == 200


def test_viewers_and_operators_cannot_decide(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9303)
    rid = ask(client, crew.alice, 9303, "template", reason="golden image").json()["request_id"]
    assert ask(client, crew.viewer, 9303, "delete", reason="x").status_code == 403
    assert client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.viewer).status_code == 403
    assert (
        client.post(f"/api/v1/requests/{rid}/reject", json={"comment": "no"}, headers=crew.viewer).status_code
        == 403
    )
    cancel = client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.bob)
    assert cancel.status_code == 403  # only the requester takes a request back
    assert client.get(f"/api/v1/requests/{rid}", headers=crew.viewer).json()["status"] == "pending"


def test_rejection_needs_a_comment_and_ends_the_request(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9304)
    rid = ask(client, crew.alice, 9304, "delete", reason="cleanup").json()["request_id"]
    assert (
        client.post(f"/api/v1/requests/{rid}/reject", json={"comment": ""}, headers=crew.bob).status_code
        == 422
    )
    rejected = client.post(
        f"/api/v1/requests/{rid}/reject", json={"comment": "still in use"}, headers=crew.bob
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["decided"]["comment"] == "still in use"
    late = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9304"}, headers=crew.carol)
    assert late.status_code == 409 and late.json()["status"] == "rejected"
    assert pve.vm(9304) is not None
    # The target is free again for a new request.
    assert ask(client, crew.alice, 9304, "delete", reason="now really").status_code == 202


def test_the_requester_can_cancel_and_one_open_request_per_change(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9305)
    first = ask(client, crew.alice, 9305, "delete", reason="one")
    again = ask(client, crew.alice, 9305, "delete", reason="two")
    assert again.status_code == 409 and f"#{first.json()['request_id']}" in again.json()["detail"]
    rid = first.json()["request_id"]
    cancelled = client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    twice = client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice)
    assert twice.status_code == 409 and twice.json()["status"] == "cancelled"


def test_twenty_concurrent_approvals_send_one_delete(
    client: httpx.Client, app_server: AppServer, settings: Settings, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9306)
    seen = len(pve.requests)
    rid = ask(client, crew.alice, 9306, "delete", reason="concurrency").json()["request_id"]
    approvers = [people(settings).bob for _ in range(4)] + [crew.bob, crew.carol]

    def approve(n: int) -> int:
        with httpx.Client(base_url=app_server.url, timeout=60) as http:
            answer = http.post(
                f"/api/v1/requests/{rid}/approve",
                json={"confirm": "9306"},
                headers=approvers[n % len(approvers)],
            )
            return answer.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(approve, range(20)))
    assert codes.count(200) == 1, codes
    assert set(codes) <= {200, 409}, codes
    assert settle(client, crew.bob, rid)["status"] == "succeeded"
    assert len(sent(pve, seen, "DELETE", "/qemu/9306")) == 1


def test_a_change_between_request_and_approval_stops_the_execution(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9307)
    seen = len(pve.requests)
    rid = ask(client, crew.alice, 9307, "delete", reason="old").json()["request_id"]
    vm.config["memory"] = 4096  # someone changed it in Proxmox meanwhile
    page = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    assert page["status"] == "pending"
    client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9307"}, headers=crew.bob)
    done = settle(client, crew.bob, rid)
    assert done["status"] == "failed"
    assert (
        "configuration changed" in done["result"]["message"]
        and "Nothing was sent" in done["result"]["message"]
    )
    assert pve.vm(9307) is not None and not sent(pve, seen, "DELETE", "/qemu/9307")


def test_a_guest_started_since_the_request_is_not_deleted(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9308)
    rid = ask(client, crew.alice, 9308, "delete", reason="old").json()["request_id"]
    vm.status = vm.qmpstatus = "running"
    client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9308"}, headers=crew.bob)
    done = settle(client, crew.bob, rid)
    assert done["status"] == "failed" and "running" in done["result"]["message"]
    assert pve.vm(9308) is not None


def test_an_expired_request_cannot_be_approved(
    client: httpx.Client, settings: Settings, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9309)
    rid = ask(client, crew.alice, 9309, "delete", reason="later").json()["request_id"]
    sql(settings, "UPDATE approval_requests SET expires_at = created_at WHERE id = :id", id=rid)
    late = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9309"}, headers=crew.bob)
    assert late.status_code == 409 and late.json()["status"] == "expired"
    assert client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["status"] == "expired"
    assert "expired" in [o for o, _r, _u in audit_story(client, crew.bob, 9309)]
    assert pve.vm(9309) is not None


def test_a_shrink_is_refused_before_any_request_exists(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9310, size=32)
    shrink = ask(client, crew.alice, 9310, "resize", disk="scsi0", size="16G", reason="smaller")
    assert shrink.status_code == 409, shrink.text
    assert "cannot shrink" in shrink.json()["detail"] and shrink.json()["field"] == "size"
    bytes_typo = ask(client, crew.alice, 9310, "resize", disk="scsi0", size="64", reason="bigger")
    assert bytes_typo.status_code == 409 and "write 64G" in bytes_typo.json()["detail"]
    assert client.get("/api/v1/requests", params={"vmid": 9310}, headers=crew.bob).json()["total"] == 0


def test_resize_preview_names_both_sizes_and_the_steps_inside_the_guest(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9311, size=32)
    rid = ask(client, crew.alice, 9311, "resize", disk="scsi0", size="+10G", reason="full").json()[
        "request_id"
    ]
    body = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    assert body["description"] == "Resize scsi0 of VM 9311 appr9311 from 32 GiB to 42 GiB"
    assert body["preview"]["data"] == {"disk": "scsi0", "old_bytes": 32 * 1024**3, "new_bytes": 42 * 1024**3}
    steps = "\n".join(body["preview"]["steps"])
    assert (
        "growpart /dev/sda" in steps
        and "resize2fs" in steps
        and "xfs_growfs" in steps
        and "pvresize" in steps
    )
    client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob)
    assert settle(client, crew.bob, rid)["status"] == "succeeded"
    assert "size=42G" in vm.config["scsi0"]


def test_container_resize_says_proxmox_grows_the_filesystem(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None
) -> None:
    add_ct(pve, 9312, size=4)
    rid = ask(client, crew.alice, 9312, "resize", disk="rootfs", size="8G", reason="logs").json()[
        "request_id"
    ]
    body = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    assert body["preview"]["steps"] == []
    assert any("grows the container's filesystem itself" in n for n in body["preview"]["notes"])


def test_rollback_preview_says_what_is_lost(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: Any
) -> None:
    from tests.approval_guests import snapshot

    vm = add_vm(pve, 9313, status="running")
    snapshot(fake_api, vm, "before", vmstate=1)
    snapshot(fake_api, vm, "after")
    rid = ask(client, crew.alice, 9313, "rollback", snapname="before", reason="bad upgrade").json()[
        "request_id"
    ]
    body = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    data = body["preview"]["data"]
    assert data["running"] is True and data["vmstate"] is True and data["newer_snapshots"] == ["after"]
    losses = " ".join(body["preview"]["losses"])
    assert "is lost" in losses and "is running now" in losses
    assert any("includes RAM" in n for n in body["preview"]["notes"])
    assert body["warnings"] == ["VM 9313 appr9313 is running: Proxmox stops it for the rollback."]


def test_asking_and_deciding_answer_503_in_the_same_words_when_the_audit_log_refuses(
    client: httpx.Client,
    app_server: AppServer,
    settings: Settings,
    crew: People,
    pve: DemoPve,
    scratch: None,
) -> None:
    """Nothing is stored, decided or sent without its audit event: each answer says so in the same words."""
    from tests.audit_refusal import NOTHING_DONE, audit_refused
    from tests.factories import signed_in

    for vmid in (9320, 9321, 9322, 9323, 9324):
        add_vm(pve, vmid)
    approve, web, reject, cancel = (
        ask(client, crew.alice, vmid, "delete", reason="cleanup").json()["request_id"]
        for vmid in (9321, 9322, 9323, 9324)
    )
    seen = len(pve.requests)
    # Other tests may have asked about 9320 before: what counts is that this refusal stores nothing more.
    earlier = client.get("/api/v1/requests", params={"vmid": 9320}, headers=crew.bob).json()["total"]
    with signed_in(app_server.url, crew.bob_name) as bob, audit_refused(settings):
        answers = {
            "ask": ask(client, crew.alice, 9320, "delete", reason="cleanup"),
            "approve": client.post(
                f"/api/v1/requests/{approve}/approve", json={"confirm": "9321"}, headers=crew.bob
            ),
            "reject": client.post(
                f"/api/v1/requests/{reject}/reject", json={"comment": "no"}, headers=crew.bob
            ),
            "cancel": client.post(f"/api/v1/requests/{cancel}/cancel", headers=crew.alice),
        }
        pressed = bob.post(
            f"/approvals/{web}/approve", data={"confirm": "9322"}, headers={"HX-Request": "true"}
        )
    assert {what: (a.status_code, a.json()) for what, a in answers.items()} == dict.fromkeys(
        answers, (503, {"detail": NOTHING_DONE})
    )
    assert pressed.status_code == 503 and pressed.headers["HX-Retarget"] == "#toasts"
    assert NOTHING_DONE in html.unescape(pressed.text)
    assert client.get("/api/v1/requests", params={"vmid": 9320}, headers=crew.bob).json()["total"] == earlier
    for rid in (approve, web, reject, cancel):
        body = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
        assert (body["status"], body["approvals"]) == ("pending", []), body
    assert not [r for r in pve.requests[seen:] if r[0] != "GET"]
    approved = client.post(f"/api/v1/requests/{approve}/approve", json={"confirm": "9321"}, headers=crew.bob)
    assert approved.status_code == 200 and settle(client, crew.bob, approve)["status"] == "succeeded"


def test_an_approval_whose_intent_is_refused_sends_nothing_and_says_so(
    client: httpx.Client, settings: Settings, crew: People, pve: DemoPve, scratch: None
) -> None:
    from tests.audit_refusal import UNWRITABLE, audit_refused

    add_vm(pve, 9325)
    rid = ask(client, crew.alice, 9325, "delete", reason="cleanup").json()["request_id"]
    seen = len(pve.requests)
    with audit_refused(settings, outcome="intent"):
        answer = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": "9325"}, headers=crew.bob)
    assert (answer.status_code, answer.json()["detail"]) == (
        503,
        f"{UNWRITABLE}: request #{rid} is approved, but nothing was sent to Proxmox.",
    )
    body = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    assert body["status"] == "failed" and body["result"]["message"].startswith(UNWRITABLE), body
    assert not sent(pve, seen, "DELETE", "/qemu/9325") and pve.vm(9325) is not None
