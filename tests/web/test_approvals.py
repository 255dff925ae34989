"""Approval pages over HTTP: who sees which buttons, the badge, the forms on the guest page, live changes."""

from __future__ import annotations

import re
import uuid

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, select_rows, stored_where
from tests.factories import make_user, signed_in
from tests.servers import AppServer

HTMX = {"HX-Request": "true"}


def request_from_form(http: httpx.Client, vmid: int, op: str, **fields: str) -> int:
    """Submit a guest page form as HTMX does; the new request's number from HX-Location."""
    answer = http.post(f"/guests/{vmid}/actions/{op}", data=fields, headers=HTMX)
    assert answer.status_code == 204, answer.text
    found = re.fullmatch(r"/approvals/(\d+)", answer.headers["HX-Location"])
    assert found, answer.headers
    return int(found.group(1))


def test_the_guest_page_offers_changes_by_state_and_role(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9380)
    add_vm(pve, 9381, status="running")
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        stopped = http.get("/guests/9380").text
        assert (
            'id="delete-form"' in stopped
            and 'id="resize-form"' in stopped
            and 'id="template-form"' in stopped
        )
        assert "Request: Delete VM 9380" in stopped and 'name="idempotency_key"' in stopped
        running = http.get("/guests/9381").text
        assert 'id="delete-form"' not in running and "shut it down first" in running
        assert 'id="resize-form"' in running
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        assert 'id="delete-form"' not in http.get("/guests/9380").text


def test_requester_approver_and_viewer_see_different_buttons(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9382)
    alice, bob, viewer = (make_user(settings, r) for r in ("operator", "approver", "viewer"))
    with signed_in(app_server.url, alice) as http:
        rid = request_from_form(
            http, 9382, "delete", reason="old box", csrf_token=http.headers["X-CSRF-Token"]
        )
        mine = http.get(f"/approvals/{rid}").text
        assert 'id="waiting-note"' in mine and 'id="approve-form"' not in mine and 'id="cancel-form"' in mine
        assert "old box" in mine and "Disk scsi0: local-lvm:vm-9382-disk-0 (8 GiB) is destroyed" in mine
        assert f'/approvals/{rid}">Delete VM 9382' in http.get("/guests/9382").text
        assert 'id="approval-count"' not in http.get("/approvals/badge").text
    with signed_in(app_server.url, bob) as http:
        page = http.get(f"/approvals/{rid}").text
        assert 'id="approve-form"' in page and 'id="approve-confirm"' in page and 'id="reject-form"' in page
        assert 'id="no-changes"' in page
        badge = http.get("/approvals/badge").text
        assert re.search(r'id="approval-count"[^>]*>\d+<', badge)
        listing = http.get("/approvals").text
        assert f'data-request="{rid}"' in listing.split('id="pending-requests"', 1)[1]
    with signed_in(app_server.url, viewer) as http:
        page = http.get(f"/approvals/{rid}").text
        assert 'id="approve-form"' not in page and 'id="reject-form"' not in page
        assert http.get("/approvals/badge").text.strip() == ""


def test_a_change_since_the_request_shows_on_its_page_and_deciding_in_the_browser(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9383)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    with signed_in(app_server.url, alice) as http:
        rid = request_from_form(
            http, 9383, "template", reason="golden", csrf_token=http.headers["X-CSRF-Token"]
        )
    vm.config["cores"] = 8
    with signed_in(app_server.url, bob) as http:
        page = http.get(f"/approvals/{rid}").text
        assert "The target changed since the request" in page and "its configuration changed" in page
        refused = http.post(f"/approvals/{rid}/reject", data={"comment": ""}, headers=HTMX)
        assert refused.status_code == 422 and "Say why" in refused.text
        done = http.post(f"/approvals/{rid}/reject", data={"comment": "not like this"}, headers=HTMX)
        # The answer is the request's block as it stands now, swapped in place: the address stays.
        assert done.status_code == 200 and "HX-Location" not in done.headers
        assert done.text.lstrip().startswith('<div id="request-detail"')
        assert 'id="request-status">rejected<' in done.text and "not like this" in done.text
        assert 'id="request-status">rejected<' in http.get(f"/approvals/{rid}").text


def test_a_secret_typed_into_a_form_is_refused_naming_the_field_and_nothing_is_stored(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9384)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    token = "pxg_" + uuid.uuid4().hex + "Qx-_"
    with signed_in(app_server.url, alice) as http:
        fields = {"reason": f"old box; its job ran with {token}", "csrf_token": http.headers["X-CSRF-Token"]}
        refused = http.post("/guests/9384/actions/delete", data=fields, headers=HTMX)
        assert refused.status_code == 422 and refused.headers["HX-Retarget"] == "#toasts"
        assert "The reason seems to hold a Proxgate API token" in refused.text
        assert "Nothing was stored" in refused.text and token not in refused.text
        assert not select_rows(settings, "SELECT id FROM approval_requests WHERE vmid = 9384")
        rid = request_from_form(http, 9384, "delete", reason="old box", csrf_token=fields["csrf_token"])
    with signed_in(app_server.url, bob) as http:
        for verb, comment in (("approve", f"fine, token: {token}"), ("reject", f"no; secret={token}")):
            answer = http.post(
                f"/approvals/{rid}/{verb}", data={"comment": comment, "confirm": "9384"}, headers=HTMX
            )
            assert answer.status_code == 422 and "The comment seems to hold" in answer.text, answer.text
        assert 'id="request-status">pending<' in http.get(f"/approvals/{rid}").text
    assert stored_where(settings, token) == []


def test_the_audit_filter_knows_the_approval_outcomes(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        page = http.get("/audit").text
    for outcome in ("requested", "approved", "rejected", "cancelled", "expired", "invalid", "not-started"):
        assert f'value="{outcome}"' in page
