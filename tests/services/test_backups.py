"""BackupService against the shared fake: every storage once, filters, newest per guest, the uncovered."""

from __future__ import annotations

import pytest

from app.proxmox.client import PveClient
from app.proxmox.errors import PveForbidden
from app.services.cluster.backups import BackupFilter, BackupService
from pvesim.fake import DemoPve
from tests.backup_guests import (
    CT,
    HOSTILE_NAME,
    HOSTILE_NOTES,
    VM,
    Made,
    content_reads,
)


async def test_every_backup_storage_is_read_shared_ones_once(
    pve_client: PveClient, pve: DemoPve, backup_guests: Made
) -> None:
    before = {sid: len(content_reads(pve, sid)) for sid in ("nas-backup", "offsite-backup", "local")}
    listing = await BackupService(pve_client).list_backups()
    assert len(content_reads(pve, "nas-backup")) - before["nas-backup"] == 1
    assert len(content_reads(pve, "offsite-backup")) - before["offsite-backup"] == 1
    assert len(content_reads(pve, "local")) - before["local"] == len(pve.nodes), "local: once per node"
    assert listing.storages == ["local", "nas-backup", "offsite-backup"]
    volids = [b.volume.volid for b in listing.backups]
    assert len(volids) == len(set(volids)), "no archive twice"
    on_storages = sum(
        1 for s in pve.storages.values() for v in s["volumes"].values() if v.get("content") == "backup"
    )
    assert len(volids) == on_storages
    created = [b.created or 0 for b in listing.backups]
    assert created == sorted(created, reverse=True)


async def test_guest_names_and_places_are_given(pve_client: PveClient, backup_guests: Made) -> None:
    mine = await BackupService(pve_client).backups_for_guest(VM)
    assert [b.volume.volid for b in mine] == [backup_guests.local_backup, backup_guests.offsite_backup]
    local, offsite = mine
    assert (local.storage, local.node, local.guest_name) == ("local", "pve1", HOSTILE_NAME)
    assert local.volume.notes == HOSTILE_NOTES and local.where == "local on pve1"
    assert (offsite.storage, offsite.node) == ("offsite-backup", None)


async def test_filters_by_storage_and_age_and_newest_per_guest(
    pve_client: PveClient, backup_guests: Made
) -> None:
    service = BackupService(pve_client)

    async def volids(**wanted: object) -> list[str]:
        listing = await service.list_backups(BackupFilter(**wanted))  # type: ignore[arg-type]
        return [b.volume.volid for b in listing.backups]

    assert await volids(vmid=VM, storage="offsite-backup") == [backup_guests.offsite_backup]
    assert await volids(vmid=VM, older_than_days=5) == [backup_guests.offsite_backup]
    assert await volids(vmid=VM, newer_than_days=5) == [backup_guests.local_backup]
    assert await volids(vmid=VM, newest_per_guest=True) == [backup_guests.local_backup]
    newest = (await service.list_backups(BackupFilter(newest_per_guest=True))).backups
    vmids = [b.vmid for b in newest]
    assert len(vmids) == len(set(vmids)) and VM in vmids


async def test_offline_node_is_skipped_with_a_note(pve_client: PveClient, pve: DemoPve) -> None:
    pve.set_node_offline("pve3")
    before = len(content_reads(pve, "local"))
    listing = await BackupService(pve_client).list_backups()
    assert any("local on pve3" in p and "offline" in p for p in listing.problems)
    assert not any("/nodes/pve3/" in p for p in content_reads(pve, "local")[before:])
    assert any(b.storage == "nas-backup" for b in listing.backups), "shared storages are read elsewhere"


async def test_a_403_on_one_storage_leaves_the_others(pve_client: PveClient, pve: DemoPve) -> None:
    pve.fail(
        "GET",
        "/nodes/pve2/storage/local/content",
        403,
        "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)",
    )
    listing = await BackupService(pve_client).list_backups()
    assert any("local on pve2" in p and "Datastore.Audit" in p for p in listing.problems)
    assert any(b.storage == "nas-backup" for b in listing.backups)


async def test_guests_without_backup(pve_client: PveClient, pve: DemoPve, backup_guests: Made) -> None:
    service = BackupService(pve_client)
    without = {g.vmid: g for g in await service.not_backed_up()}
    assert CT in without and without[CT].type == "lxc" and without[CT].name == "nobackup-9102"
    assert VM not in without
    covered = pve.backed_up_vmids()
    assert all(g.vmid not in covered for g in without.values())
    pve.fail("GET", "/cluster/backup-info/not-backed-up", 403, "Permission check failed (/, Sys.Audit)")
    with pytest.raises(PveForbidden, match="Sys.Audit"):
        await service.not_backed_up()
