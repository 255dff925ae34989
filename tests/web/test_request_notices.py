"""Requesters learn in the app how their requests went: a badge and a notice when one is approved, rejected
(with the comment), expired or has run, until they open it or mark their notices read."""

from __future__ import annotations

import re

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, ask, people, settle, sql
from tests.factories import signed_in
from tests.servers import AppServer


def news_badge(client: httpx.Client) -> str:
    """The navigation badge's HTML for this person."""
    return client.get("/approvals/badge").text


def test_a_rejection_reaches_the_requester_until_they_open_it(
    app_server: AppServer, client: httpx.Client, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    crew = people(settings)
    add_vm(pve, 9356)
    rid = ask(client, crew.alice, 9356, "delete", reason="old").json()["request_id"]
    with signed_in(app_server.url, crew.alice_name) as alice:
        assert 'id="approval-news"' not in news_badge(alice)
        client.post(f"/api/v1/requests/{rid}/reject", json={"comment": "not now"}, headers=crew.bob)
        assert 'id="approval-news"' in news_badge(alice) and ">1<" in news_badge(alice)
        notices = alice.get("/approvals/notices").text
        assert f"#{rid} Delete" in notices and "rejected" in notices and "news-item" in notices
        assert f"by {crew.bob_name}" in notices and "not now" in notices
        assert re.search(r'id="notices" hx-get="[^"]*/approvals/notices"', alice.get("/").text)
        alice.get(f"/approvals/{rid}")
        assert f"#{rid} " not in alice.get("/approvals/notices").text
        assert 'id="approval-news"' not in news_badge(alice)


def test_a_run_and_an_expiry_are_news_and_can_be_marked_read(
    app_server: AppServer, client: httpx.Client, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    crew = people(settings)
    add_vm(pve, 9357)
    add_vm(pve, 9358)
    ran = ask(client, crew.alice, 9357, "delete", reason="old").json()["request_id"]
    client.post(f"/api/v1/requests/{ran}/approve", json={"confirm": "9357"}, headers=crew.bob)
    assert settle(client, crew.bob, ran)["status"] == "succeeded"
    lapsed = ask(client, crew.alice, 9358, "delete", reason="old").json()["request_id"]
    sql(settings, "UPDATE approval_requests SET expires_at = '2000-01-01 00:00:00' WHERE id = :id", id=lapsed)
    with signed_in(app_server.url, crew.alice_name) as alice:
        page = alice.get("/approvals").text  # the list expires what is due, then shows the news
        assert f"#{ran} Delete" in page and "approved and done" in page
        assert f"#{lapsed} Delete" in page and "expired: nobody decided in time" in page
        seen = alice.post("/approvals/notices/seen", headers={"HX-Request": "true"})
        assert seen.status_code == 200 and "news-item" not in seen.text
        assert "expired: nobody decided in time" not in alice.get("/approvals").text
        assert 'id="approval-news"' not in news_badge(alice)
