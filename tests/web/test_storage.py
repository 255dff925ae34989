"""The storage pages: usage with the 85 % line, content by type, offline nodes and 403s said plainly."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.backup_guests import (
    VM,
    Made,
    content_reads,
)
from tests.factories import make_user, signed_in
from tests.servers import AppServer


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


def rows(html: str, attribute: str) -> dict[str, str]:
    """attribute value -> the row's HTML, for rows that carry the attribute."""
    return {m.group(1): m.group(0) for m in re.finditer(rf'<tr {attribute}="([^"]*)".*?</tr>', html, re.S)}


def test_storage_list_flags_the_nearly_full_storage(viewer: httpx.Client, pve: DemoPve) -> None:
    page = viewer.get("/storage")
    assert page.status_code == 200
    by_storage = re.findall(r'<tr data-storage="([^"]+)" data-node="([^"]*)" class="([^"]*)"', page.text)
    assert sorted(node for sid, node, _ in by_storage if sid == "local") == sorted(pve.nodes)
    assert [cls for sid, _, cls in by_storage if sid == "nas-backup"] == ["warn"], "shared: listed once"
    assert "over 85 %" in page.text
    assert not any("warn" in cls for sid, _, cls in by_storage if sid != "nas-backup")
    assert 'aria-current="page">Storage<' in page.text


def test_content_shows_isos_templates_and_backups_with_notes_escaped(
    viewer: httpx.Client, backup_guests: Made
) -> None:
    page = viewer.get("/storage/pve1/local")
    assert page.status_code == 200
    for section in ("content-iso", "content-vztmpl", "content-backup"):
        assert f'id="{section}"' in page.text
    assert "debian-12" in page.text
    row = rows(page.text, "data-volid")[backup_guests.local_backup]
    assert f'href="/guests/{VM}"' in row
    assert "&lt;script&gt;alert(&#39;notes&#39;)&lt;/script&gt; before the upgrade" in row
    assert "<script>alert" not in page.text


def test_a_tab_shows_one_content_type(viewer: httpx.Client) -> None:
    page = viewer.get("/storage/pve1/local", params={"content": "iso"})
    assert 'id="content-iso"' in page.text and 'id="content-backup"' not in page.text
    assert re.search(r'<a href="[^"]*\?content=iso" aria-current="page">ISO images</a>', page.text)
    empty = viewer.get("/storage/pve1/local-lvm", params={"content": "iso"})
    assert empty.status_code == 200 and 'id="content-empty"' in empty.text


def test_shared_storage_shows_protected_and_its_images(viewer: httpx.Client) -> None:
    nas = viewer.get("/storage/pve2/nas-backup", params={"content": "backup"}).text
    assert "protected</span>" in nas, "the seed protects one archive"
    lvm = viewer.get("/storage/pve1/local-lvm").text
    assert 'id="content-images"' in lvm


def test_bad_names_are_refused_before_asking_proxmox(viewer: httpx.Client, pve: DemoPve) -> None:
    before = len(pve.requests)
    bad_node = viewer.get("/storage/pve_1/local")
    assert bad_node.status_code == 422 and "does not look like a valid node name" in bad_node.text
    bad_storage = viewer.get("/storage/pve1/l")
    assert bad_storage.status_code == 422 and "cannot be shorter than 2 characters" in bad_storage.text
    bad_type = viewer.get("/storage/pve1/local", params={"content": "movies"})
    assert bad_type.status_code == 422
    assert len(pve.requests) == before


def test_unknown_storage_is_a_404_page(viewer: httpx.Client) -> None:
    page = viewer.get("/storage/pve1/nope")
    assert page.status_code == 404 and "no storage &#39;nope&#39; on node &#39;pve1&#39;" in page.text


def test_offline_node_storages_are_unavailable_with_a_note(viewer: httpx.Client, pve: DemoPve) -> None:
    pve.set_node_offline("pve3")
    time.sleep(0.6)
    page = viewer.get("/storage").text
    assert "Node pve3 is offline" in page
    local3 = next(r for r in re.findall(r'<tr data-storage="local" data-node="pve3".*?</tr>', page, re.S))
    assert "unavailable" in local3 and "node offline" in local3
    before = len(content_reads(pve, "local"))
    content = viewer.get("/storage/pve3/local")
    assert content.status_code == 200 and "Node pve3 cannot be reached" in content.text
    assert len(content_reads(pve, "local")) == before, "no request to an offline node"


def test_a_403_on_content_names_the_privilege(viewer: httpx.Client, pve: DemoPve) -> None:
    pve.fail(
        "GET",
        "/nodes/pve1/storage/local/content",
        403,
        "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)",
    )
    page = viewer.get("/storage/pve1/local")
    assert page.status_code == 200
    problem = re.search(r'id="content-problem">(.*?)</div>', page.text, re.S)
    assert problem and "Datastore.Audit" in problem.group(1) and "/storage/local" in problem.group(1)


def test_htmx_gets_the_partial(viewer: httpx.Client) -> None:
    answer = viewer.get("/storage", headers={"HX-Request": "true"})
    assert answer.text.lstrip().startswith('<div id="storage-list"') and "<html" not in answer.text
