"""The guest page's migrate form: a refusal comes back in the form, beside the field it is about, with what
was chosen still chosen; nothing is sent to Proxmox."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import make_user, signed_in
from tests.migrate_guests import LOCAL_VM, NVME_VM, migration_guests
from tests.servers import AppServer

HTMX = {"HX-Request": "true"}


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """The migration test guests on pve1 (9650-9669)."""
    yield from migration_guests(pve)


def test_a_refused_migration_comes_back_beside_its_field(
    app_server: AppServer, settings: Settings, pve: DemoPve, guests: None
) -> None:
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        page = http.get(f"/guests/{LOCAL_VM}")
        assert 'id="migrate-form"' in page.text and 'name="with_local_disks"' in page.text
        offered = page.text.split('name="target_storage"', 1)[1].split("</select>", 1)[0]
        # Storages the other nodes have for VM disks (pve2 and pve3: fast-nvme is on pve2 only), blank first.
        assert re.findall(r'<option value="([^"]*)"', offered) == ["", "ceph-vm", "fast-nvme", "local-lvm"]
        assert ">the same storage</option>" in offered
        seen = len(pve.requests)
        local = http.post(f"/guests/{LOCAL_VM}/actions/migrate", data={"target": "pve2"}, headers=HTMX)
        storage = http.post(f"/guests/{NVME_VM}/actions/migrate", data={"target": "pve3"}, headers=HTMX)

    assert local.status_code == 422 and local.headers["HX-Retarget"] == "#migrate-form"
    beside = local.text.split('name="with_local_disks"', 1)[1].split("</label>", 1)[0]
    assert "is on storage only pve1 has: choose to copy local disks while it runs" in beside
    assert '<option value="pve2" selected>' in local.text
    assert storage.status_code == 409 and storage.headers["HX-Retarget"] == "#migrate-form"
    beside = storage.text.split('name="target"', 1)[1].split("</label>", 1)[0]
    assert "storage fast-nvme, which its disks are on, is not available there" in beside
    assert not [r for r in pve.requests[seen:] if r[0] == "POST"]
    assert pve.vm(LOCAL_VM).node == "pve1" and pve.vm(NVME_VM).node == "pve1"
