"""Every change that loses data asks its approver to type the VMID (rollback, restore over a guest, deleting a
snapshot or a backup, like deleting a guest), in the browser and the API alike; a refusal sits beside the field."""

from __future__ import annotations

import re

import httpx

from app.operations.base import Risk
from app.operations.catalogue import CATALOGUE
from pvesim.fake import DemoPve
from tests.api.test_approval_ops import backup_of
from tests.approval_guests import People, add_vm, ask, settle, snapshot
from tests.backup_guests import FakeApi
from tests.factories import signed_in
from tests.servers import AppServer
from tests.web.test_approvals import HTMX

# The destructive changes that lose nothing: a resize only grows a disk, a template keeps its disks.
KEEPS_DATA = {"resize", "template"}


def test_every_destructive_operation_but_a_resize_or_template_asks_for_the_vmid() -> None:
    typed = {name for name, op in CATALOGUE.items() if op.typed_confirmation}
    destructive = {name for name, op in CATALOGUE.items() if op.risk == Risk.destructive}
    assert typed == destructive - KEEPS_DATA
    assert typed == {"rollback", "delete-snapshot", "restore-overwrite", "delete-backup", "delete"}


def test_a_rollback_typed_wrong_is_refused_beside_the_field_and_typed_right_runs(
    app_server: AppServer, client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: FakeApi
) -> None:
    vm = add_vm(pve, 9346, status="running")
    snapshot(fake_api, vm, "before")
    vm.config["memory"] = 4096
    rid = ask(client, crew.alice, 9346, "rollback", snapname="before", reason="bad upgrade").json()[
        "request_id"
    ]
    with signed_in(app_server.url, crew.bob_name) as http:
        page = http.get(f"/approvals/{rid}").text
        assert re.search(r'<span class="typed-prompt"[^>]*>Type <code>9346</code> to confirm</span>', page)
        fields = {"csrf_token": http.headers["X-CSRF-Token"], "comment": "checked with alice"}
        wrong = http.post(f"/approvals/{rid}/approve", data={**fields, "confirm": "936"}, headers=HTMX)
        assert wrong.status_code == 422 and "HX-Retarget" not in wrong.headers
        block = wrong.text
        assert re.search(r'id="approve-confirm-error">Type 9346 to confirm.</span>', block), block
        confirm = re.search(r'<input name="confirm"[^>]*>', block)
        assert confirm and 'value="936"' in confirm[0] and "autofocus" in confirm[0]
        assert 'aria-invalid="true"' in confirm[0] and "hx-preserve" not in confirm[0]
        assert re.search(r'<input name="comment"[^>]*value="checked with alice"', block)
        assert 'id="request-status">pending<' in block and vm.config["memory"] == 4096

        right = http.post(f"/approvals/{rid}/approve", data={**fields, "confirm": "9346"}, headers=HTMX)
        assert right.status_code == 200, right.text
    assert settle(client, crew.bob, rid)["status"] == "succeeded"
    assert vm.config["memory"] in (2048, "2048")


def test_the_api_asks_for_the_vmid_of_every_change_that_loses_data(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, fake_api: FakeApi
) -> None:
    vm = add_vm(pve, 9347)
    add_vm(pve, 9348)
    snapshot(fake_api, vm, "old")
    volid = backup_of(fake_api, pve, 9348)
    asked = [
        ask(client, crew.alice, 9347, "rollback", snapname="old", reason="r"),
        ask(client, crew.alice, 9347, "delete-snapshot", snapname="old", reason="r"),
        ask(client, crew.alice, 9348, "restore-overwrite", archive=volid, reason="r"),
        client.post(
            "/api/v1/actions/delete-backup", json={"volume": volid, "reason": "r"}, headers=crew.alice
        ),
    ]
    rids = [a.json()["request_id"] for a in asked]
    add_vm(pve, 9372)
    template = ask(client, crew.alice, 9372, "template", reason="base").json()["request_id"]
    assert client.get(f"/api/v1/requests/{template}", headers=crew.bob).json()["confirm"] is None
    for rid, vmid in zip(rids, (9347, 9347, 9348, 9348), strict=True):
        assert client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()["confirm"] == str(vmid)
        for typed in (None, "", "9300", volid):
            body = {} if typed is None else {"confirm": typed}
            refused = client.post(f"/api/v1/requests/{rid}/approve", json=body, headers=crew.bob)
            assert refused.status_code == 422, refused.text
            assert refused.json() == {"detail": f"Type {vmid} to confirm.", "field": "confirm"}
    assert "old" in vm.snapshots and volid.partition(":")[2] in pve.storages["local"]["volumes"]
    # Typed right, each runs (the restore first: deleting the backup would take its archive away).
    for rid, vmid in zip(rids[2:], (9348, 9348), strict=True):
        answer = client.post(f"/api/v1/requests/{rid}/approve", json={"confirm": str(vmid)}, headers=crew.bob)
        assert answer.status_code == 200 and settle(client, crew.bob, rid)["status"] == "succeeded"
    assert volid.partition(":")[2] not in pve.storages["local"]["volumes"]
