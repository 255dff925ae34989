"""The bulk pages over HTTP: the guest list offers ticks and the bulk bar to operators only; the review form lists
the guests ticked or every guest the list's filter matches; a refused value comes back beside its field with
nothing sent; a started batch leads to its page, which offers Stop while guests wait."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.bulk_guests import add_vms, bulk_guests
from tests.factories import make_user, signed_in
from tests.servers import AppServer


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range."""
    yield from bulk_guests(pve)


def review_rows(html: str) -> list[str]:
    """The VMIDs the review form lists."""
    return re.findall(r'<tr data-vmid="(\d+)">', html)


def test_the_list_offers_bulk_actions_to_operators_only(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    add_vms(pve, [8601])
    time.sleep(settings.resources_ttl + 0.1)  # the list's cluster view is read after the guest was added
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        page = http.get("/guests", params={"q": "bulk8601"}).text
        assert 'id="bulk-form"' in page and 'id="pick-8601"' in page
        assert '<input type="hidden" name="filter" value="q=bulk8601" form="bulk-form">' in page
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        page = http.get("/guests", params={"q": "bulk8601"}).text
        assert 'id="bulk-form"' not in page and 'id="pick-8601"' not in page


def test_the_review_form_takes_the_ticked_guests_or_all_that_match(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    add_vms(pve, range(8602, 8606))
    time.sleep(0.6)  # past the app's cached cluster view, as the list a person ticks them in
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        ticked = http.get("/guests/bulk", params={"operation": "stop", "vmid": [8603, 8605]})
        assert ticked.status_code == 200 and review_rows(ticked.text) == ["8603", "8605"]
        query = urlencode({"operation": "stop", "scope": "filter", "filter": "q=bulk860&status=running"})
        matching = http.get(f"/guests/bulk?{query}")
        assert review_rows(matching.text) == ["8602", "8603", "8604", "8605"]
        nothing = http.get("/guests/bulk", params={"operation": "stop"})
        assert "Tick the guests to act on" in nothing.text and 'id="bulk-review"' not in nothing.text


def test_a_refused_value_comes_back_beside_its_field_and_nothing_is_sent(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    add_vms(pve, [8606, 8607])
    time.sleep(0.6)
    before = len(pve.requests)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        sent = {
            "csrf_token": http.headers["X-CSRF-Token"],
            "operation": "snapshot",
            "vmid": ["8606", "8607"],
            "snapname": "9",
            "reason": "before the upgrade",
        }
        refused = http.post("/guests/bulk", data=sent)
        assert refused.status_code == 422
        assert re.search(
            r'<span class="field-error" id="bulk-params-snapname-error">[^<]*2–40 characters', refused.text
        )
        assert 'value="before the upgrade"' in refused.text and review_rows(refused.text) == ["8606", "8607"]
        assert [r for r in pve.requests[before:] if r[0] != "GET"] == []
        started = http.post("/guests/bulk", data={**sent, "snapname": "pre-upgrade"})
        assert started.status_code == 303 and re.fullmatch(r"/batches/[\w-]+", started.headers["location"])
        batch = http.get(started.headers["location"]).text
        assert 'id="batch-items"' in batch and 'data-vmid="8606"' in batch and "before the upgrade" in batch


def test_earlier_batches_are_listed_newest_first_with_their_counts(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    add_vms(pve, [8608, 8609])
    pve.fail("POST", "/nodes/pve1/qemu/8609/snapshot", 500, "snapshot feature is not available")
    time.sleep(settings.resources_ttl + 0.1)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        form = {"csrf_token": http.headers["X-CSRF-Token"], "operation": "snapshot", "reason": "listed"}
        first = http.post("/guests/bulk", data={**form, "vmid": ["8608"], "snapname": "first"})
        second = http.post("/guests/bulk", data={**form, "vmid": ["8608", "8609"], "snapname": "second"})
        ids = [answer.headers["location"].rsplit("/", 1)[1] for answer in (first, second)]
        assert f'href="{app_server.url}/batches"' in http.get("/guests").text
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        deadline = time.monotonic() + 20
        while f'data-batch="{ids[1]}" data-status="running"' in (page := http.get("/batches").text):
            assert time.monotonic() < deadline, "the second batch did not end"
            time.sleep(0.2)
    rows = re.findall(r'<tr data-batch="([\w-]+)" data-status="(\w+)">', page)
    assert [batch for batch, _ in rows if batch in ids] == list(reversed(ids))
    newest = page.split(f'data-batch="{ids[1]}"', 1)[1].split("</tr>", 1)[0]
    assert "Take snapshot" in newest and "listed" in newest
    counts = re.search(r'class="small batch-counts">(.*?)</td>', newest)
    assert counts and re.sub(r"<[^>]+>", "", counts.group(1)) == "2: 1 succeeded · 1 failed"


def test_the_review_form_sent_twice_makes_one_batch(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    add_vms(pve, [8610, 8611])
    time.sleep(settings.resources_ttl + 0.1)
    before = len(pve.requests)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        form = http.get("/guests/bulk", params={"operation": "stop", "vmid": [8610, 8611]}).text
        key = re.search(r'<input type="hidden" name="idempotency_key" value="([^"]+)" data-once>', form)
        assert key, "the review form carries a one-time key"
        sent = {
            "csrf_token": http.headers["X-CSRF-Token"],
            "idempotency_key": key[1],
            "operation": "stop",
            "vmid": ["8610", "8611"],
            "reason": "sent twice",
        }
        first, second = http.post("/guests/bulk", data=sent), http.post("/guests/bulk", data=sent)
        assert first.status_code == second.status_code == 303
        assert second.headers["location"] == first.headers["location"], "the repeat leads to the same batch"
        changed = http.post("/guests/bulk", data={**sent, "vmid": ["8610"]})
        assert changed.status_code == 409 and "already sent with another batch" in changed.text
        assert 'id="bulk-review"' in changed.text, "the form comes back, with a new key to send it again"
        assert f'name="idempotency_key" value="{key[1]}"' not in changed.text
        deadline = time.monotonic() + 20
        while 'data-status="running"' in http.get(first.headers["location"]).text:
            assert time.monotonic() < deadline, "the batch did not end"
            time.sleep(0.2)
    stops = [r[1] for r in pve.requests[before:] if r[0] == "POST" and r[1].endswith("/status/stop")]
    assert sorted(stops) == [f"/api2/json/nodes/pve1/qemu/{v}/status/stop" for v in (8610, 8611)]
