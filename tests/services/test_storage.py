"""StorageService and the backup volume names, against real samples and the shared fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from app.proxmox.client import PveClient
from app.proxmox.errors import PveForbidden, PveUnavailable
from app.services.cluster.storage import StorageService, Volume, parse_backup_volid
from app.services.errors import Invalid, NotFound
from pvesim.fake import DemoPve
from tests.backup_guests import (
    HOSTILE_NOTES,
    VM,
    Made,
)

SAMPLES = Path(__file__).parents[1] / "proxmox" / "samples"


def test_vzdump_names_are_parsed() -> None:
    ref = parse_backup_volid("local:backup/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst")
    assert ref is not None and (ref.kind, ref.vmid, ref.pbs) == ("qemu", 100, False)
    assert ref.taken == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    ct = parse_backup_volid("nas:backup/vzdump-lxc-9101-2025_12_31-23_59_59.tar.gz")
    assert ct is not None and (ct.kind, ct.vmid) == ("lxc", 9101)
    assert parse_backup_volid("local:iso/debian.iso") is None


def test_pbs_snapshots_from_a_real_sample_are_parsed() -> None:
    rows = TypeAdapter(list[Volume]).validate_python(
        json.loads((SAMPLES / "cp_storage_content_pbs_backups.json").read_text())
    )
    first = rows[0]
    assert first.backup is not None and first.backup.pbs
    assert (first.owner, first.guest_kind, first.size) == (931, "qemu", 273804166061)
    assert first.backup.taken == datetime(2023, 12, 14, 4, 34, 34, tzinfo=UTC)
    assert first.created == 1702528474 and first.notes is None and not first.protected
    host = parse_backup_volid("pbs:backup/host/pve1/2024-01-01T00:00:00Z")
    assert host is not None and (host.kind, host.vmid) == ("host", None)


def test_verification_state_is_read_when_present() -> None:
    volume = Volume.model_validate(
        {
            "volid": "pbs:backup/ct/101/2024-05-01T02:00:00Z",
            "content": "backup",
            "format": "pbs-ct",
            "size": "1024",
            "ctime": "1714528800",
            "vmid": "101",
            "verification": {"state": "failed", "upid": "x"},
        }
    )
    assert volume.verification_state == "failed" and volume.size == 1024 and volume.owner == 101


async def test_overview_lists_local_storages_per_node_and_shared_ones_once(
    pve_client: PveClient, pve: DemoPve
) -> None:
    overview = await StorageService(pve_client).overview()
    local = [s for s in overview.storages if s.storage == "local"]
    assert sorted(s.node or "" for s in local) == sorted(pve.nodes)
    nas = [s for s in overview.storages if s.storage == "nas-backup"]
    assert len(nas) == 1 and nas[0].shared and nas[0].node is None
    assert nas[0].warn and nas[0].percent > 85, "the seed fills nas-backup to 88 %"
    assert not any(s.warn for s in local)


async def test_offline_node_marks_its_storages_unavailable(pve_client: PveClient, pve: DemoPve) -> None:
    pve.set_node_offline("pve3")
    overview = await StorageService(pve_client).overview()
    local3 = overview.find("pve3", "local")
    assert local3 is not None and local3.offline and not local3.available
    assert any("pve3 is offline" in p for p in overview.problems)
    nas = overview.find("pve3", "nas-backup")
    assert nas is not None and not nas.offline and nas.reach("pve3") != "pve3"
    with pytest.raises(PveUnavailable, match="pve3"):
        await StorageService(pve_client).content("pve3", "local")


async def test_content_is_typed_and_filtered(pve_client: PveClient, backup_guests: Made) -> None:
    service = StorageService(pve_client)
    everything = await service.content("pve1", "local")
    kinds = [v.content for v in everything]
    assert {"iso", "vztmpl", "backup"} <= set(kinds)
    assert kinds == sorted(kinds, key=["iso", "vztmpl", "backup"].index), "grouped in the pages' order"
    mine = next(v for v in everything if v.volid == backup_guests.local_backup)
    assert (mine.owner, mine.guest_kind, mine.notes) == (VM, "qemu", HOSTILE_NOTES)
    isos = await service.content("pve1", "local", "iso")
    assert isos and all(v.content == "iso" for v in isos)


async def test_local_backups_show_only_on_their_node(pve_client: PveClient, backup_guests: Made) -> None:
    service = StorageService(pve_client)
    on_pve1 = {v.volid for v in await service.content("pve1", "local", "backup")}
    on_pve2 = {v.volid for v in await service.content("pve2", "local", "backup")}
    assert backup_guests.local_backup in on_pve1 and backup_guests.local_backup not in on_pve2


async def test_names_are_checked_before_any_upstream_call(pve_client: PveClient, pve: DemoPve) -> None:
    service = StorageService(pve_client)
    before = len(pve.requests)
    with pytest.raises(Invalid, match="valid node name"):
        await service.content("pve1;rm", "local")
    with pytest.raises(Invalid, match="illegal characters"):
        await service.content("pve1", "local/../x")
    with pytest.raises(Invalid, match="invalid content type"):
        await service.volumes((await service.overview()).storages[0], "pve1", "isos")
    assert len(pve.requests) == before + 1, "only the overview read /cluster/resources"


async def test_unknown_storage_is_not_found(pve_client: PveClient) -> None:
    with pytest.raises(NotFound, match="no storage 'nope' on node 'pve1'"):
        await StorageService(pve_client).content("pve1", "nope")


async def test_403_names_the_privilege(pve_client: PveClient, pve: DemoPve) -> None:
    pve.fail(
        "GET",
        "/nodes/pve1/storage/local/content",
        403,
        "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)",
    )
    with pytest.raises(PveForbidden) as caught:
        await StorageService(pve_client).content("pve1", "local")
    assert "Datastore.Audit" in str(caught.value) and "/storage/local" in str(caught.value)
