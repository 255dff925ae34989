"""The guest page's forms over HTTP: what the server refuses (a snapshot name the guest has, a clone's VMID that
exists) comes back beside its field with what was typed, nothing sent to Proxmox; a refusal about no field stays
a toast; after a snapshot is taken the form proposes a fresh name."""

from __future__ import annotations

import re

from app.config import Settings
from app.operations.snapshots import default_snapname
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, sent
from tests.factories import make_user, signed_in
from tests.servers import AppServer
from tests.web.test_approvals import HTMX


def field_html(html: str, name: str) -> str:
    """The <input> (or <select>) of this parameter in a form's HTML."""
    found = re.search(rf'<(?:input|select) name="{name}"[^>]*>', html)
    assert found, html
    return found[0]


def test_a_snapshot_name_the_guest_has_comes_back_beside_the_field(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9359, status="running")
    vm.snapshots["nightly"] = {"snaptime": 1700000000, "description": "", "snapstate": None}
    seen = len(pve.requests)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        token = http.headers["X-CSRF-Token"]
        fields = {"csrf_token": token, "snapname": "nightly", "description": "before the upgrade"}
        refused = http.post("/guests/9359/actions/snapshot", data=fields, headers=HTMX)
        assert refused.status_code == 409 and refused.headers["HX-Retarget"] == "#snapshot-form"
        assert refused.headers["HX-Reswap"] == "outerHTML"
        html = refused.text
        assert html.lstrip().startswith('<form id="snapshot-form"') and "toast" not in html
        assert re.search(
            r'<span class="field-error" id="snapshot-form-snapname-error">VM 9359 appr9359 already has a '
            r"snapshot named &#39;nightly&#39;.</span>",
            html,
        ), html
        name = field_html(html, "snapname")
        assert 'value="nightly"' in name and "autofocus" in name and 'aria-invalid="true"' in name
        assert 'value="before the upgrade"' in field_html(html, "description")
        # A problem the model finds is shown the same way.
        bad = http.post("/guests/9359/actions/snapshot", data={**fields, "snapname": "9"}, headers=HTMX)
        assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#snapshot-form"
        assert "Use 2–40 characters" in bad.text and 'value="9"' in field_html(bad.text, "snapname")
    assert not sent(pve, seen, "POST", "/qemu/9359/snapshot")
    assert set(vm.snapshots) == {"nightly"}


def test_a_clone_to_a_vmid_that_exists_comes_back_beside_the_new_vmid(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    add_vm(pve, 9364)
    add_vm(pve, 9365)
    seen = len(pve.requests)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        fields = {"csrf_token": http.headers["X-CSRF-Token"], "newid": "9365", "name": "copy-of-9364"}
        refused = http.post("/guests/9364/actions/clone", data=fields, headers=HTMX)
        assert refused.status_code in (409, 422) and refused.headers["HX-Retarget"] == "#clone-form"
        assert re.search(r'id="clone-form-newid-error">[^<]*9365[^<]*already exists', refused.text), (
            refused.text
        )
        newid = field_html(refused.text, "newid")
        assert 'value="9365"' in newid and "autofocus" in newid
        assert 'value="copy-of-9364"' in field_html(refused.text, "name")
    assert not sent(pve, seen, "POST", "/qemu/9364/clone")
    assert pve.vm(9365).name == "appr9365"


def test_a_refusal_about_no_field_stays_a_toast(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9366)
    vm.lock = "backup"
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        fields = {"csrf_token": http.headers["X-CSRF-Token"], "snapname": "fine-name"}
        refused = http.post("/guests/9366/actions/snapshot", data=fields, headers=HTMX)
        assert refused.headers["HX-Retarget"] == "#toasts" and "is locked (backup)" in refused.text


def test_after_a_snapshot_the_form_proposes_a_fresh_name(
    app_server: AppServer, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    vm = add_vm(pve, 9367, status="running")
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        page = http.get("/guests/9367").text
        proposed = re.search(r'name="snapname"[^>]*value="([^"]+)"', page)
        assert proposed and proposed[1].startswith("snap-"), page
        key = re.search(r'<form id="snapshot-form".*?name="idempotency_key" value="([^"]+)"', page, re.S)
        assert key
        fields = {"csrf_token": http.headers["X-CSRF-Token"], "idempotency_key": key[1]}
        taken = http.post(
            "/guests/9367/actions/snapshot", data={**fields, "snapname": proposed[1]}, headers=HTMX
        )
        assert taken.status_code == 200 and ": started." in taken.text
        fresh = re.search(r'<form id="snapshot-form"[^>]*hx-swap-oob="outerHTML".*?</form>', taken.text, re.S)
        assert fresh, taken.text
        name = re.search(r'name="snapname"[^>]*value="([^"]+)"', fresh[0])
        assert name and name[1] not in (proposed[1], "") and name[1].startswith(default_snapname()[:13])
        assert key[1] not in fresh[0]
        # The next click sends the fresh form as it is: a second snapshot, not a refusal.
        key2 = re.search(r'name="idempotency_key" value="([^"]+)"', fresh[0])
        assert key2
        again = http.post(
            "/guests/9367/actions/snapshot",
            data={**fields, "idempotency_key": key2[1], "snapname": name[1]},
            headers=HTMX,
        )
        assert again.status_code == 200 and ": started." in again.text, again.text
        after = re.search(r'name="snapname"[^>]*value="([^"]+)"', again.text)
        assert after and after[1] not in vm.snapshots
    assert set(vm.snapshots) == {proposed[1], name[1]}
