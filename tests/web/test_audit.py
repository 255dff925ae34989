"""The audit page: what happened, filtered, exported, and the chain checked by an admin."""

from __future__ import annotations

import json
import re

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.api.test_actions import bearer, wait_for_event
from tests.factories import make_user, signed_in
from tests.servers import AppServer


def test_an_action_shows_in_the_audit_with_its_task(
    client: httpx.Client, app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    vm = next(v for v in pve.vms if v.status == "running" and not v.lock and not v.template)
    headers = bearer(settings, "operator")
    body = client.post(
        f"/api/v1/guests/{vm.vmid}/actions/snapshot", json={"snapname": "audit-page"}, headers=headers
    )
    upid = body.json()["upid"]
    wait_for_event(client, headers, upid)
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        page = http.get("/audit", params={"vmid": vm.vmid, "operation": "snapshot"})
        assert page.status_code == 200
        rows = re.findall(r'<tr data-seq="\d+" class="outcome-(\w+)">', page.text)
        assert rows[:3] == ["succeeded", "started", "intent"]
        assert f'href="/tasks/{upid}"' in page.text
        assert "Take snapshot &#39;audit-page&#39; of VM" in page.text
        assert 'id="verify-link"' not in page.text
        csv = http.get("/audit/export.csv", params={"vmid": vm.vmid, "operation": "snapshot"})
        assert csv.headers["content-disposition"].startswith("attachment")
        assert csv.text.splitlines()[0].startswith("seq,at,actor_name")
        assert upid in csv.text
        lines = http.get("/audit/export.jsonl", params={"vmid": vm.vmid}).text.splitlines()
        assert all(json.loads(line)["vmid"] == vm.vmid for line in lines)


def test_empty_form_fields_mean_no_filter(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        answer = http.get("/audit", params={"actor": "", "vmid": "", "outcome": "", "since": "", "q": ""})
        assert answer.status_code == 200
        bad = http.get("/audit", params={"vmid": "abc"})
        assert bad.status_code == 422 and "vmid" in bad.text


def test_admin_verifies_the_chain(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "admin")) as http:
        assert 'id="verify-link"' in http.get("/audit").text
        result = http.get("/audit/verify").text
        assert re.search(r"<strong>Intact.</strong> All \d+ events verified with their keys", result)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        assert http.get("/audit/verify").status_code == 403


def test_an_api_tokens_name_is_recorded_with_what_it_did(
    client: httpx.Client, app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    from app.services.accounts.cli import add_token
    from tests.factories import run_async

    owner = make_user(settings, "operator")
    secret = run_async(add_token(settings, "deploy-bot", owner, None))
    vm = next(v for v in pve.vms if v.status == "running" and not v.lock and not v.template)
    headers = {"Authorization": f"Bearer {secret}"}
    upid = client.post(
        f"/api/v1/guests/{vm.vmid}/actions/snapshot", json={"snapname": "by-bot"}, headers=headers
    ).json()["upid"]
    items = client.get("/api/v1/audit", params={"q": upid}, headers=headers).json()["items"]
    started = next(e for e in items if e["outcome"] == "started")
    assert (started["actor_name"], started["auth_method"], started["token_name"]) == (
        owner,
        "token",
        "deploy-bot",
    )
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        page = http.get("/audit", params={"actor": owner}).text
        assert 'token <span class="token-name">deploy-bot</span>' in page
        csv = http.get("/audit/export.csv", params={"actor": owner}).text
        assert "token_name" in csv.splitlines()[0] and ",deploy-bot," in csv
