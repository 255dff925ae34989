"""The backups page: all archives across storages, filters, newest per guest, the guests without."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.db.migrate import upgrade_database
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm
from tests.backup_guests import (
    CT,
    VM,
    Made,
    content_reads,
)
from tests.conftest import app_settings
from tests.factories import make_token, make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


def backup_rows(html: str) -> dict[str, str]:
    """volid -> its row in the backup table."""
    table = html.split('id="backup-table"', 1)[1].split("</table>", 1)[0]
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr data-volid="([^"]+)".*?</tr>', table, re.S)}


def test_all_backups_with_hostile_names_and_notes_as_text(viewer: httpx.Client, backup_guests: Made) -> None:
    page = viewer.get("/backups", params={"per_page": 200})
    assert page.status_code == 200
    found = backup_rows(page.text)
    assert {backup_guests.local_backup, backup_guests.offsite_backup} <= set(found)
    assert any(volid.startswith("nas-backup:") for volid in found)
    local = found[backup_guests.local_backup]
    assert "&lt;img src=x onerror=alert(1)&gt;" in local and "on pve1" in local
    assert "&lt;script&gt;alert(&#39;notes&#39;)&lt;/script&gt;" in local
    assert "<img src=x" not in page.text and "<script>alert" not in page.text
    assert 'aria-current="page">Backups<' in page.text


def test_filters_and_newest_per_guest(viewer: httpx.Client, backup_guests: Made) -> None:
    def volids(**params: object) -> set[str]:
        answer = viewer.get("/backups", params={k: str(v) for k, v in params.items()})
        assert answer.status_code == 200
        return set(backup_rows(answer.text))

    both = {backup_guests.local_backup, backup_guests.offsite_backup}
    assert volids(guest=VM) == both
    assert volids(guest=VM, storage="offsite-backup") == {backup_guests.offsite_backup}
    assert volids(guest=VM, older_than=5) == {backup_guests.offsite_backup}
    assert volids(guest=VM, newer_than=5) == {backup_guests.local_backup}
    assert volids(guest=VM, newest=1) == {backup_guests.local_backup}
    newest = viewer.get("/backups", params={"newest": "1"}).text
    vmids = re.findall(r'<tr data-volid="[^"]+" data-vmid="(\d+)"', newest)
    assert len(vmids) == len(set(vmids)) > 10
    empty_form = viewer.get("/backups?guest=&storage=&older_than=&newer_than=")
    assert empty_form.status_code == 200 and backup_guests.local_backup in empty_form.text


def test_bad_filters_are_refused(viewer: httpx.Client, pve: DemoPve) -> None:
    before = len(pve.requests)
    assert viewer.get("/backups", params={"guest": "12"}).status_code == 422
    bad = viewer.get("/backups", params={"storage": "no/such"})
    assert bad.status_code == 422 and "illegal characters" in bad.text
    assert viewer.get("/backups", params={"older_than": "-1"}).status_code == 422
    assert len(pve.requests) == before


def test_guests_without_backup_are_listed(viewer: httpx.Client, backup_guests: Made) -> None:
    page = viewer.get("/backups").text
    section = page.split('id="without-table"', 1)[1].split("</table>", 1)[0]
    row = re.search(rf'<tr data-vmid="{CT}">.*?</tr>', section, re.S)
    assert row and "nobackup-9102" in row.group(0) and "none" in row.group(0)
    assert f'<tr data-vmid="{VM}">' not in section


def test_missing_privileges_and_offline_nodes_are_explained(viewer: httpx.Client, pve: DemoPve) -> None:
    pve.fail("GET", "/cluster/backup-info/not-backed-up", 403, "Permission check failed (/, Sys.Audit)")
    pve.fail(
        "GET",
        "/nodes/pve2/storage/local/content",
        403,
        "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)",
    )
    pve.set_node_offline("pve3")
    time.sleep(0.6)
    page = viewer.get("/backups").text
    assert re.search(r'id="without-problem">[^<]*Sys\.Audit', page)
    assert re.search(r"Backups on local on pve2 could not be read:[^<]*Datastore\.Audit", page)
    assert "Backups on local on pve3 are not listed: node pve3 is offline." in page
    assert any(volid.startswith("nas-backup:") for volid in backup_rows(page))


def test_filter_form_answers_htmx_with_the_list_only(viewer: httpx.Client, backup_guests: Made) -> None:
    answer = viewer.get("/backups", params={"guest": str(VM)}, headers={"HX-Request": "true"})
    assert answer.text.lstrip().startswith('<div id="backup-list"') and "<html" not in answer.text
    assert set(backup_rows(answer.text)) == {backup_guests.local_backup, backup_guests.offsite_backup}


def test_backups_are_paged_on_the_server_keeping_the_filters(
    viewer: httpx.Client, backup_guests: Made
) -> None:
    first = viewer.get("/backups", params={"per_page": 25})
    shown = backup_rows(first.text)
    total = int(re.search(r"Showing 1–25 of (\d+) backups", first.text).group(1))  # type: ignore[union-attr]
    assert len(shown) == 25 < total
    second = viewer.get("/backups", params={"per_page": 25, "page": 2})
    assert len(backup_rows(second.text)) == min(25, total - 25) and not set(backup_rows(second.text)) & set(
        shown
    )
    kept = viewer.get("/backups", params={"storage": "nas-backup", "per_page": 25}).text
    assert re.search(
        r'id="backup-pager".*?href="/backups\?storage=nas-backup&amp;per_page=25&amp;page=2"', kept, re.S
    )
    assert all(v.startswith("nas-backup:") for v in backup_rows(kept))


def test_the_listing_is_reused_until_a_backup_of_proxgates_own_ends(
    served_fake: ServedFake, pve: DemoPve, empty_database: str, tmp_path: Path, scratch: None
) -> None:
    """Every backup storage's content is read once per PROXGATE_BACKUPS_TTL, not per page view; a backup made
    through Proxgate shows as soon as its task ends."""
    upgrade_database(empty_database)
    settings = app_settings(served_fake, empty_database, tmp_path, backups_ttl=600)
    add_vm(pve, 9391)
    server = AppServer(settings)
    try:
        headers = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'operator'))}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
            assert api.get("/api/v1/backups", params={"guest": 9391}).json()["total"] == 0
            reads = len(content_reads(pve, "nas-backup"))
            time.sleep(settings.resources_ttl + 0.1)  # the cluster view is read again; the listing is not
            assert api.get("/api/v1/backups").status_code == 200
            assert api.get("/api/v1/backups", params={"guest": 9391}).json()["total"] == 0
            assert len(content_reads(pve, "nas-backup")) == reads

            made = api.post("/api/v1/guests/9391/actions/backup", json={"storage": "nas-backup"})
            assert made.status_code == 200, made.text
            deadline = time.monotonic() + 15
            while api.get("/api/v1/backups", params={"guest": 9391}).json()["total"] == 0:
                assert time.monotonic() < deadline, "the new backup never showed"
                time.sleep(0.2)
            assert len(content_reads(pve, "nas-backup")) > reads
    finally:
        server.stop()
