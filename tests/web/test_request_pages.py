"""A request's page over HTTP: asking leads there as a whole page, deciding answers with its block in place, a
lost race says how it stands, Approve is withheld when it would fail, and the requester asks again."""

from __future__ import annotations

import re

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask
from tests.factories import make_token, make_user, signed_in
from tests.servers import AppServer
from tests.web.test_approvals import HTMX, request_from_form

# What the full page has and the request's block alone has not.
HEADER = '<header class="topbar">'


def bearer(settings: Settings, username: str, role: str | None = None) -> dict[str, str]:
    """An API token's header for this user."""
    return {"Authorization": f"Bearer {make_token(settings, username, role)}"}


def status_of(http: httpx.Client, headers: dict[str, str], request_id: int) -> dict[str, object]:
    """The request as the API answers it."""
    answer: dict[str, object] = http.get(f"/api/v1/requests/{request_id}", headers=headers).json()
    return answer


def test_asking_leads_to_the_request_page_as_a_whole_page(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9331)
    add_vm(pve, 9332)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        token = http.headers["X-CSRF-Token"]
        rid = request_from_form(http, 9331, "delete", reason="gone", csrf_token=token)
        plain = http.post("/guests/9332/actions/delete", data={"reason": "gone too", "csrf_token": token})
        assert plain.status_code == 303 and re.fullmatch(r"/approvals/\d+", plain.headers["location"])

        # HX-Location's GET (app.js marks it boosted) and a history restore get the page; a refresh the block.
        navigated = http.get(f"/approvals/{rid}", headers={**HTMX, "HX-Boosted": "true"})
        restored = http.get(f"/approvals/{rid}", headers={**HTMX, "HX-History-Restore-Request": "true"})
        for whole in (navigated, restored):
            assert HEADER in whole.text and f"<h1>Request #{rid}: Delete guest</h1>" in whole.text
            assert 'id="request-detail"' in whole.text and 'aria-current="page">Approvals' in whole.text
        block = http.get(f"/approvals/{rid}", headers=HTMX)
        assert HEADER not in block.text and block.text.lstrip().startswith('<div id="request-detail"')
        assert block.headers["Vary"] == "HX-Request"
        http.post(f"/approvals/{rid}/cancel", headers=HTMX)
        http.post(plain.headers["location"] + "/cancel", headers=HTMX)


def test_deciding_answers_with_the_request_block_as_it_stands_now(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9333)
    add_vm(pve, 9334)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    with signed_in(app_server.url, alice) as http:
        token = http.headers["X-CSRF-Token"]
        approved_rid = request_from_form(http, 9333, "delete", reason="old", csrf_token=token)
        cancelled_rid = request_from_form(http, 9334, "delete", reason="old too", csrf_token=token)
        cancelled = http.post(f"/approvals/{cancelled_rid}/cancel", headers=HTMX)
        assert cancelled.status_code == 200 and "HX-Location" not in cancelled.headers
        assert HEADER not in cancelled.text and 'id="request-status">cancelled<' in cancelled.text
        assert 'id="cancel-form"' not in cancelled.text
    with signed_in(app_server.url, bob) as http:
        answer = http.post(f"/approvals/{approved_rid}/approve", data={"confirm": "9333"}, headers=HTMX)
        assert answer.status_code == 200 and "HX-Location" not in answer.headers
        assert answer.headers["HX-Trigger"] == "approvals-changed"
        assert answer.text.lstrip().startswith('<div id="request-detail"') and HEADER not in answer.text
        assert re.search(r'id="request-status">(executing|succeeded)<', answer.text), answer.text
        assert f"{bob}, " in answer.text and 'id="approve-form"' not in answer.text
    with signed_in(app_server.url, alice) as http:
        # Without HTMX (a plain form), the browser is sent back to the page.
        add_vm(pve, 9335)
        rid = request_from_form(http, 9335, "delete", reason="x", csrf_token=http.headers["X-CSRF-Token"])
        back = http.post(f"/approvals/{rid}/cancel")
        assert back.status_code == 303 and back.headers["location"] == f"/approvals/{rid}"


def test_an_approver_who_lost_the_race_is_told_and_shown_how_it_stands(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9336)
    alice, bob, carol = (make_user(settings, r) for r in ("operator", "approver", "approver"))
    with httpx.Client(base_url=app_server.url, timeout=30) as api:
        rid = ask(api, bearer(settings, alice), 9336, "delete", reason="race").json()["request_id"]
        with signed_in(app_server.url, bob) as http:
            shown = http.get(f"/approvals/{rid}").text
            assert 'id="approve-form"' in shown and 'hx-trigger="every 10s, conflict from:body"' in shown
            first = api.post(
                f"/api/v1/requests/{rid}/reject",
                json={"comment": "carol first"},
                headers=bearer(settings, carol, "approver"),
            )
            assert first.status_code == 200, first.text
            late = http.post(f"/approvals/{rid}/approve", data={"confirm": "9336"}, headers=HTMX)
            assert late.status_code == 409
            assert late.headers["HX-Retarget"] == "#toasts" and late.headers["HX-Trigger"] == "conflict"
            assert (
                f"Request #{rid} was rejected by {carol}; only a pending request can be approved."
                in late.text
            )
            now = http.get(f"/approvals/{rid}", headers=HTMX).text
            assert 'id="request-status">rejected<' in now and f"{carol}, " in now and "carol first" in now
            assert 'id="approve-form"' not in now and 'hx-trigger="conflict from:body"' in now
    assert pve.vm(9336) is not None


def test_approve_is_withheld_with_the_reason_when_the_target_changed(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9337)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    with signed_in(app_server.url, alice) as http:
        rid = request_from_form(
            http, 9337, "template", reason="gold", csrf_token=http.headers["X-CSRF-Token"]
        )
    with signed_in(app_server.url, bob) as http:
        assert 'id="approve-form"' in http.get(f"/approvals/{rid}").text
        vm.config["cores"] = 8
        page = http.get(f"/approvals/{rid}").text
        assert "its configuration changed" in page and 'id="approve-form"' not in page
        assert re.search(r'<button type="button" class="primary" id="approve-button" disabled', page)
        assert "Approving would fail without sending anything" in page and f"{alice} can ask again" in page
        assert 'id="reject-form"' in page
        http.post(f"/approvals/{rid}/reject", data={"comment": "changed"}, headers=HTMX)


def test_the_requester_asks_again_for_the_same_change(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9338)
    alice, bob = make_user(settings, "operator"), make_user(settings, "approver")
    alice_api = bearer(settings, alice)
    with httpx.Client(base_url=app_server.url, timeout=30) as api:
        asked = ask(api, alice_api, 9338, "delete", reason="replaced by 9339", purge=True)
        rid = asked.json()["request_id"]
        with signed_in(app_server.url, bob) as http:
            assert http.post(f"/approvals/{rid}/again", headers=HTMX).status_code == 403
        with signed_in(app_server.url, alice) as http:
            early = http.post(f"/approvals/{rid}/again", headers=HTMX)
            assert early.status_code == 409 and "only a failed, expired or rejected request" in early.text
            assert 'id="again-form"' not in http.get(f"/approvals/{rid}").text
        rejected = api.post(
            f"/api/v1/requests/{rid}/reject",
            json={"comment": "not yet"},
            headers=bearer(settings, bob, "approver"),
        )
        assert rejected.status_code == 200
        with signed_in(app_server.url, bob) as http:
            assert 'id="again-form"' not in http.get(f"/approvals/{rid}").text
        with signed_in(app_server.url, alice) as http:
            assert 'id="again-form"' in http.get(f"/approvals/{rid}").text
            key = {"idempotency_key": "ask-again-9338", "csrf_token": http.headers["X-CSRF-Token"]}
            answer = http.post(f"/approvals/{rid}/again", data=key, headers=HTMX)
            assert answer.status_code == 204, answer.text
            found = re.fullmatch(r"/approvals/(\d+)", answer.headers["HX-Location"])
            assert found and int(found.group(1)) != rid
            repeat = http.post(f"/approvals/{rid}/again", data=key, headers=HTMX)
            assert repeat.headers["HX-Location"] == answer.headers["HX-Location"]
            twice = http.post(f"/approvals/{rid}/again", headers=HTMX)
            assert twice.status_code == 409 and "already requested" in twice.text
        new = status_of(api, alice_api, int(found.group(1)))
        old = status_of(api, alice_api, rid)
        assert new["status"] == "pending" and new["operation"] == "delete"
        assert new["parameters"] == old["parameters"] and new["parameters"]["purge"] is True  # type: ignore[index]
        assert new["reason"] == "replaced by 9339" and new["target"] == old["target"]
        api.post(f"/api/v1/requests/{found.group(1)}/cancel", headers=alice_api)
        with signed_in(app_server.url, alice) as http:
            plain = http.post(
                f"/approvals/{found.group(1)}/again", data={"csrf_token": http.headers["X-CSRF-Token"]}
            )
            assert plain.status_code == 409  # a cancelled request is not asked again from its page
    assert pve.vm(9338) is not None
