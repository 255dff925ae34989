"""DemoPve's node networks, backup jobs and archive configs, asserted on what PVE would show through its API."""

from __future__ import annotations

from pvesim.fake import DemoPve
from tests.backup_guests import FakeApi


def test_each_node_lists_its_own_bridges_and_the_type_filter_works(fake_api: FakeApi) -> None:
    every = fake_api.data("GET", "/nodes/pve1/network")
    assert {i["iface"]: i["type"] for i in every} == {"eno1": "eth", "vmbr0": "bridge", "vmbr1": "bridge"}
    bridges = fake_api.data("GET", "/nodes/pve3/network", params={"type": "any_bridge"})
    assert [i["iface"] for i in bridges] == ["vmbr0"], "pve3 has no storage VLAN bridge"
    ports = fake_api.data("GET", "/nodes/pve2/network", params={"type": "eth"})
    assert [i["iface"] for i in ports] == ["eno1"]


def test_backup_jobs_name_the_guests_and_storage_they_cover(fake_api: FakeApi, pve: DemoPve) -> None:
    jobs = {j["id"]: j for j in fake_api.data("GET", "/cluster/backup")}
    assert jobs["backup-nightly"]["storage"] == "nas-backup" and jobs["backup-nightly"]["enabled"] == 1
    covered = {int(v) for v in jobs["backup-offsite"]["vmid"].split(",")}
    offsite = {v["vmid"] for v in pve.storages["offsite-backup"]["volumes"].values() if v.get("vmid")}
    assert covered == offsite and len(covered) == 2


def test_extractconfig_gives_the_config_kept_in_the_archive(fake_api: FakeApi, pve: DemoPve) -> None:
    name, record = next(
        (n, v) for n, v in pve.storages["nas-backup"]["volumes"].items() if v.get("subtype") == "lxc"
    )
    text = fake_api.data("GET", "/nodes/pve1/vzdump/extractconfig", params={"volume": f"nas-backup:{name}"})
    lines = dict(line.split(": ", 1) for line in text.splitlines())
    assert lines["net0"] == record["guest"]["config"]["net0"] and "hostname" in lines
