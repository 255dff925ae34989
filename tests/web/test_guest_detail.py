"""The guest page: everything about one guest, hostile names as text, and bad days said plainly."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import make_user, signed_in
from tests.servers import AppServer

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


@pytest.fixture
def hostile_vm(pve: DemoPve) -> Iterator[Any]:
    """VM 9601 with a hostile name, description and snapshot description; removed afterwards."""
    vm = pve.add_vm(
        9601,
        "evil",
        node="pve1",
        status="stopped",
        config={"scsi0": "local-lvm:vm-9601-disk-0,size=8G", "description": HOSTILE, "tags": "x;<b>y</b>"},
    )
    vm.name = vm.config["name"] = HOSTILE
    vm.snapshots["s1"] = {"snaptime": 1700000000, "description": HOSTILE, "snapstate": None}
    time.sleep(0.6)
    yield vm
    pve.vms.remove(vm)


def test_viewer_sees_disks_addresses_snapshots_backups_and_tasks(viewer: httpx.Client, pve: DemoPve) -> None:
    vm = next(v for v in pve.vms if v.snapshots and v.agent and v.status == "running" and not v.template)
    page = viewer.get(f"/guests/{vm.vmid}")
    assert page.status_code == 200
    html = page.text
    assert f'<h1>VM {vm.vmid} <span class="guest-name">{vm.name}</span></h1>' in html
    disks = re.findall(r'data-disk="([^"]+)"', html)
    assert disks and all(k in vm.config for k in disks)
    for name in vm.snapshots:
        assert f'data-snapshot="{name}"' in html
    assert 'data-snapshot="current"' in html
    assert re.search(r'data-ip="\d+\.\d+\.\d+\.\d+"', html), "agent addresses are listed"
    assert 'data-ip="127.0.0.1"' not in html
    assert 'id="power-actions"' not in html, "a viewer gets no buttons"


def test_hostile_names_render_as_text(viewer: httpx.Client, hostile_vm: Any) -> None:
    html = viewer.get(f"/guests/{hostile_vm.vmid}").text
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>y</b>" not in html


def test_the_page_reads_the_config_once_for_its_disks_and_its_configured_addresses(
    viewer: httpx.Client, pve: DemoPve
) -> None:
    vm = pve.add_vm(
        9602,
        "cloud-init",
        node="pve1",
        status="stopped",
        config={
            "scsi0": "local-lvm:vm-9602-disk-0,size=8G",
            "net0": "virtio=BC:24:11:96:02:01,bridge=vmbr0",
            "ipconfig0": "ip=10.96.2.10/24,gw=10.96.2.1",
        },
    )
    try:
        time.sleep(0.6)  # the cached cluster view learns of it
        before = len(pve.requests)
        html = viewer.get(f"/guests/{vm.vmid}").text
        reads = [p for m, p, _ in pve.requests[before:] if m == "GET" and "/qemu/9602/" in p]
        assert 'data-disk="scsi0"' in html and 'data-ip="10.96.2.10"' in html
        # GET .../pending gives the config, its pending changes and its digest: no GET .../config besides.
        assert [p for p in reads if p.endswith(("/config", "/pending"))] == [
            f"/api2/json/nodes/pve1/qemu/{vm.vmid}/pending"
        ], "one read serves the disks, the addresses and the pending changes"
    finally:
        pve.vms.remove(vm)


def test_unknown_guest_is_a_404(viewer: httpx.Client) -> None:
    answer = viewer.get("/guests/999999")
    assert answer.status_code == 404
    assert "There is no guest 999999." in answer.text


def test_agent_not_running_is_noted(viewer: httpx.Client, pve: DemoPve) -> None:
    vm = next((v for v in pve.vms if v.status == "running" and "agent" in v.config and not v.agent), None)
    assert vm is not None, "the seed has a VM whose agent is configured but silent"
    html = viewer.get(f"/guests/{vm.vmid}").text
    assert "agent" in re.search(r'id="guest-addresses">(.*?)</section>', html, re.S).group(1).lower()  # type: ignore[union-attr]


def test_a_403_on_one_section_names_the_privilege_and_the_rest_shows(
    viewer: httpx.Client, pve: DemoPve
) -> None:
    vm = next(v for v in pve.vms if v.snapshots and not v.template)
    pve.fail("GET", f"/qemu/{vm.vmid}/snapshot", 403, f"Permission check failed (/vms/{vm.vmid}, VM.Audit)")
    html = viewer.get(f"/guests/{vm.vmid}").text
    assert 'data-section="snapshots">The snapshots could not be read:' in html
    assert "VM.Audit" in html
    assert 'id="disk-table"' in html


def test_offline_node_is_said_plainly_and_offers_no_actions(
    app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    vm = next(v for v in pve.vms if v.node == "pve3" and not v.template)
    pve.set_node_offline("pve3")
    time.sleep(0.6)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        html = http.get(f"/guests/{vm.vmid}").text
    assert "Node pve3 is offline" in html
    assert 'data-op="' not in html and 'id="snapshot-form"' not in html


def test_operator_form_post_starts_a_task_and_shows_it(
    app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    vm = next(v for v in pve.vms if v.status == "running" and not v.template and not v.lock)
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        answer = http.post(
            f"/guests/{vm.vmid}/actions/snapshot",
            data={"snapname": "web-form", "description": ""},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200
        assert "Take snapshot &#39;web-form&#39; of VM" in answer.text and ": started." in answer.text
        assert 'id="action-task-link"' in answer.text
        bad = http.post(
            f"/guests/{vm.vmid}/actions/snapshot", data={"snapname": "9"}, headers={"HX-Request": "true"}
        )
        assert bad.status_code == 422
        assert bad.headers["HX-Retarget"] == "#snapshot-form"
        assert 'id="snapshot-form-snapname-error">Use 2–40 characters' in bad.text
    assert "web-form" in pve.vm(vm.vmid).snapshots


def test_restore_a_backup_as_a_new_guest_from_its_page(
    app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    vm = next(
        v
        for v in pve.vms
        if not v.template and re.search(r"vzdump-qemu", str(pve.storages)) and v.vmid < 9000
    )
    before = {g.vmid for g in [*pve.vms, *pve.cts]}
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        page = http.get(f"/guests/{vm.vmid}").text
        archive = re.search(r'data-restore="([^"]+)"', page)
        assert archive, "a backed-up guest offers 'Restore as new'"
        node = re.search(r'name="node" value="([^"]+)"', page)
        assert node
        sent = {"archive": archive.group(1), "node": node.group(1)}
        refused = http.post("/provision/restore", data=sent, headers={"HX-Request": "true"})
        # The guest still has the static addresses its backup carries: the copy takes them once confirmed.
        assert refused.status_code == 409 and f"used by {vm.vmid} ({vm.name}, " in refused.text
        assert {g.vmid for g in [*pve.vms, *pve.cts]} == before
        sent["allow_ip_reuse"] = "true"
        answer = http.post("/provision/restore", data=sent, headers={"HX-Request": "true"})
        assert answer.status_code == 200, answer.text
        assert f"Restore {archive.group(1)} as new guest" in answer.text
    created = {g.vmid for g in [*pve.vms, *pve.cts]} - before
    assert len(created) == 1
    for guests in (pve.vms, pve.cts):
        for guest in [g for g in guests if g.vmid in created]:
            guests.remove(guest)


def backup_choices(page: str) -> list[str]:
    """The storages the "Back up now" form offers, the default first."""
    form = page.split('id="backup-form"', 1)[1].split("</form>", 1)[0]
    return re.findall(
        r'<option value="([^"]+)">\1</option>', form.split('name="storage"', 1)[1].split("</select>")[0]
    )


def test_back_up_now_defaults_to_the_storage_of_the_guests_backup_jobs(
    app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        assert backup_choices(http.get("/guests/100").text)[0] == "nas-backup", "the nightly job writes there"
        assert backup_choices(http.get("/guests/120").text) == ["nas-backup", "offsite-backup", "local"], (
            "no job covers it: shared storage before the node's own"
        )
        volumes = pve.storages["offsite-backup"]["volumes"]
        name = "backup/vzdump-qemu-136-2026_01_01-03_00_00.vma.zst"
        volumes[name] = {
            "content": "backup",
            "vmid": 136,
            "format": "vma.zst",
            "size": 1024,
            "ctime": 1767236400,
        }
        # The demo's weekly job now covers 136; the jobs are read again once the cluster view's TTL has passed.
        time.sleep(0.6)
        try:
            assert backup_choices(http.get("/guests/136").text)[0] == "offsite-backup", (
                "its only job writes there"
            )
        finally:
            del volumes[name]
