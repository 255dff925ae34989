"""seed_cluster: the demo inventory, as PVE's API shows it."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.demo.seed import seed_cluster
from pvesim.fake import DemoPve
from tests.demo.conftest import TOKEN_ID, Api
from tests.fakepve_thread import ServedFake

DNS_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


@pytest.fixture
def seeded(demo_pve: DemoPve) -> DemoPve:
    seed_cluster(demo_pve)
    return demo_pve


@pytest.fixture
def api(seeded: DemoPve, tmp_path: Path) -> Iterator[Api]:
    served = ServedFake(seeded, tmp_path)
    client = Api(served, seeded.apitokens[TOKEN_ID])
    yield client
    client.close()
    served.stop()


def guests(api: Api) -> list[dict[str, Any]]:
    return list(api.data("GET", "/cluster/resources", params={"type": "vm"}))


def config(api: Api, guest: dict[str, Any]) -> dict[str, Any]:
    return dict(api.data("GET", f"/nodes/{guest['node']}/{guest['type']}/{guest['vmid']}/config"))


def test_three_nodes_and_thirty_guests_of_both_kinds(api: Api) -> None:
    nodes = [n["node"] for n in api.data("GET", "/nodes")]
    found = guests(api)
    kinds = Counter(g["type"] for g in found)
    states = Counter(g["status"] for g in found)

    assert nodes == ["pve1", "pve2", "pve3"] and len(found) == 30
    assert 15 <= kinds["qemu"] <= 21 and kinds["lxc"] == 30 - kinds["qemu"]
    assert states["running"] >= 15 and states["stopped"] >= 5
    assert 1 <= sum(g["template"] for g in found) <= 2
    assert {g["node"] for g in found} == set(nodes)


def test_names_tags_and_pools_look_like_a_real_inventory(api: Api) -> None:
    found = [g for g in guests(api) if not g["template"]]
    names = [g["name"] for g in found]
    pools = {p["poolid"] for p in api.data("GET", "/pools")}

    assert len(set(names)) == len(names) and all(DNS_NAME.match(n) for n in names)
    assert {"pihole", "db-primary"} & set(names) or any(n.startswith(("web", "k3s-node-")) for n in names)
    assert all(g["tags"] == ";".join(sorted(g["tags"].split(";"))) for g in found if "tags" in g)
    assert sum("tags" in g for g in found) >= 25 and sum("pool" in g for g in found) >= 15
    assert {"production", "infra", "homelab"} <= pools and {g["pool"] for g in found if "pool" in g} <= pools


def test_guest_agents_report_loopback_ipv4_and_ipv6(api: Api, seeded: DemoPve) -> None:
    vm = next(v for v in seeded.vms if v.agent and not v.config["ostype"].startswith("win"))

    answer = api.data("GET", f"/nodes/{vm.node}/qemu/{vm.vmid}/agent/network-get-interfaces")

    by_name = {i["name"]: i for i in answer["result"]}
    assert by_name["lo"]["ip-addresses"][0]["ip-address"] == "127.0.0.1"
    kinds = {
        (a["ip-address-type"], a["ip-address"].startswith("fe80")) for a in by_name["ens18"]["ip-addresses"]
    }
    assert {("ipv4", False), ("ipv6", False), ("ipv6", True)} <= kinds


def test_some_vms_have_an_agent_configured_that_does_not_answer(api: Api, seeded: DemoPve) -> None:
    silent = [v for v in seeded.vms if v.status == "running" and "agent" in v.config and v.agent is None]
    stopped = [v for v in seeded.vms if v.status == "stopped" and "agent" in v.config and not v.template]
    assert silent and stopped

    response = api.request(
        "GET", f"/nodes/{silent[0].node}/qemu/{silent[0].vmid}/agent/network-get-interfaces"
    )

    assert response.status_code == 500 and response.json()["message"] == "QEMU guest agent is not running\n"


def test_cloud_init_and_container_addresses(api: Api) -> None:
    configs = [(g["type"], config(api, g)) for g in guests(api) if not g["template"]]
    ipconfigs = [c.get("ipconfig0", "") for kind, c in configs if kind == "qemu"]
    nets = [c["net0"] for kind, c in configs if kind == "lxc"]

    assert any(re.match(r"^ip=10\.0\.10\.\d+/24,gw=10\.0\.10\.1,ip6=fd00:0:10::", i) for i in ipconfigs)
    assert any(i.startswith("ip=dhcp") for i in ipconfigs)
    static = [n for n in nets if re.search(r",gw=10\.0\.20\.1,.*,ip=10\.0\.20\.\d+/24,", n)]
    assert static and all(re.search(r",hwaddr=BC:24:11:[0-9A-F:]{8},", n) for n in nets)
    assert any(",ip=dhcp," in n for n in nets) and all(n.startswith("name=eth0,bridge=vmbr0,") for n in nets)


def test_disks_of_several_sizes_on_several_storages(api: Api) -> None:
    disks = [
        value
        for g in guests(api)
        for key, value in config(api, g).items()
        if re.fullmatch(r"(scsi\d+|rootfs|mp\d+)", key)
    ]

    assert {d.split(":")[0] for d in disks} == {"local-lvm", "ceph-vm"}
    assert len({d.rsplit("size=", 1)[1] for d in disks}) >= 5


def test_snapshots_chain_and_one_keeps_its_ram(api: Api, seeded: DemoPve) -> None:
    with_snaps = [g for g in [*seeded.vms, *seeded.cts] if g.snapshots]
    chains = [
        api.data("GET", f"/nodes/{g.node}/{g.guest.split('/')[0]}/{g.vmid}/snapshot") for g in with_snaps
    ]

    assert len(with_snaps) >= 3
    assert any(s.get("parent") for chain in chains for s in chain if s["name"] != "current")
    assert sum(s.get("vmstate", 0) for chain in chains for s in chain) == 1
    assert all(chain[-1]["name"] == "current" and chain[-1].get("parent") for chain in chains)


def test_storages_with_media_and_a_nearly_full_backup_store(api: Api) -> None:
    stores = {s["storage"]: s for s in api.data("GET", "/nodes/pve1/storage")}
    local = api.data("GET", "/nodes/pve1/storage/local/content")
    resources = [
        r for r in api.data("GET", "/cluster/resources", params={"type": "storage"}) if r["node"] == "pve1"
    ]

    assert stores["local"]["type"] == "dir" and stores["local-lvm"]["type"] == "lvmthin"
    assert stores["nas-backup"]["shared"] == 1 and stores["nas-backup"]["used_fraction"] > 0.85
    assert stores["offsite-backup"]["used_fraction"] < 0.05
    volids = {v["volid"]: v for v in local}
    assert volids["local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"]["format"] == "tzst"
    assert sum(v["content"] == "iso" for v in local) >= 3
    nas = next(r for r in resources if r["storage"] == "nas-backup")
    assert nas["disk"] / nas["maxdisk"] > 0.85


def test_backups_of_most_guests_with_notes_and_one_protected(api: Api) -> None:
    found = guests(api)
    backups = [
        b
        for store in ("nas-backup", "local", "offsite-backup")
        for b in api.data("GET", f"/nodes/pve1/storage/{store}/content", params={"content": "backup"})
    ]
    covered = {b["vmid"] for b in backups}
    pattern = re.compile(
        r"^[a-z-]+:backup/vzdump-(qemu|lxc)-\d+-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.(vma|tar)\.(zst|gz)$"
    )

    assert all(pattern.match(b["volid"]) and b["subtype"] in b["volid"] for b in backups)
    assert len(covered) >= 20 and any(g["vmid"] not in covered for g in found if not g["template"])
    assert sum("notes" in b for b in backups) >= len(backups) - 2
    assert sum(b.get("protected", 0) for b in backups) == 1


def test_the_same_seed_gives_the_same_inventory() -> None:
    first, second, other = DemoPve(), DemoPve(), DemoPve()
    seed_cluster(first, 60, rng_seed=3)
    seed_cluster(second, 60, rng_seed=3)
    seed_cluster(other, 60, rng_seed=4)

    def inventory(pve: DemoPve) -> Any:
        guests = sorted([*pve.vms, *pve.cts], key=lambda g: g.vmid)
        return [(g.vmid, g.node, g.name, g.status, g.config, g.snapshots) for g in guests], pve.storages

    assert inventory(first) == inventory(second)
    assert inventory(first) != inventory(other)


def test_ten_thousand_guests_seed_fast_on_twenty_nodes(tmp_path: Path) -> None:
    pve = DemoPve()
    pve.apitokens[TOKEN_ID] = "secret"
    started = time.perf_counter()
    seed_cluster(pve, 10_000)
    seeding = time.perf_counter() - started
    served = ServedFake(pve, tmp_path)
    api = Api(served, "secret")
    try:
        started = time.perf_counter()
        resources = api.data("GET", "/cluster/resources")
        answering = time.perf_counter() - started
    finally:
        api.close()
        served.stop()

    assert len(pve.nodes) == 20 and len(pve.vms) + len(pve.cts) == 10_000
    assert sum(r["type"] in ("qemu", "lxc") for r in resources) == 10_000
    per_node = Counter(r["node"] for r in resources if r["type"] in ("qemu", "lxc"))
    assert min(per_node.values()) > 350
    assert seeding < 5, f"seeding took {seeding:.1f} s"
    assert answering < 3, f"/cluster/resources took {answering:.1f} s"


def test_seeded_backups_restore(api: Api, seeded: DemoPve) -> None:
    backups = api.data("GET", "/nodes/pve1/storage/nas-backup/content", params={"content": "backup"})
    vm_backup = next(b for b in backups if b["subtype"] == "qemu")
    ct_backup = next(b for b in backups if b["subtype"] == "lxc")
    vm_data = {"vmid": 5000, "archive": vm_backup["volid"], "storage": "local-lvm", "unique": 1}
    ct_data = {"vmid": 5001, "ostemplate": ct_backup["volid"], "restore": 1, "storage": "local-lvm"}

    vm_status, _log = api.run("POST", "/nodes/pve2/qemu", data=vm_data)
    ct_status, _log = api.run("POST", "/nodes/pve2/lxc", data=ct_data)

    assert vm_status["exitstatus"] == ct_status["exitstatus"] == "OK"
    assert api.data("GET", "/nodes/pve2/qemu/5000/config")["name"] == seeded.guest(vm_backup["vmid"]).name
    assert api.data("GET", "/nodes/pve2/lxc/5001/config")["hostname"] == seeded.guest(ct_backup["vmid"]).name
