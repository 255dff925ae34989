"""DemoPve's VM and HA migration, asserted on what PVE would show through its API (qemu-server's
migrate_vm_precondition and QemuMigrate's log, pve-ha-manager's migrate)."""

from __future__ import annotations

import re

from pvesim.fake import DemoPve
from tests.demo.conftest import Api
from tests.migrate_guests import HA_VM, LOCAL_VM, NVME, NVME_VM, RUNNING_CT, SHARED_VM, STOPPED_CT, add_guests

STAMPED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ")


def seeded(pve: DemoPve) -> None:
    """Three nodes, the demo's storages and the migration test guests (fresh fake: nothing to remove)."""
    pve.nodes = {n: {"online": True} for n in ("pve1", "pve2", "pve3")}
    for name, shared in (("local-lvm", 0), ("ceph-vm", 1)):
        pve.storages[name] = {"type": "lvmthin" if not shared else "rbd", "content": "images,rootdir"}
        pve.storages[name].update(active=1, shared=shared, files=set(), volumes={})
    add_guests(pve)


def node_of(api: Api, vmid: int) -> str:
    [entry] = [r for r in api.data("GET", "/cluster/resources", params={"type": "vm"}) if r["vmid"] == vmid]
    return str(entry["node"])


def test_the_precondition_lists_local_disks_and_nodes_a_storage_keeps_out(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    seeded(demo_pve)

    local = demo_api.data("GET", f"/nodes/pve1/qemu/{LOCAL_VM}/migrate")
    nvme = demo_api.data("GET", f"/nodes/pve1/qemu/{NVME_VM}/migrate", params={"target": "pve3"})
    shared = demo_api.data("GET", f"/nodes/pve1/qemu/{SHARED_VM}/migrate")

    assert local["running"] == 1 and local["allowed_nodes"] == ["pve2", "pve3"]
    assert [(d["volid"], d["size"]) for d in local["local_disks"]] == [
        (f"local-lvm:vm-{LOCAL_VM}-disk-0", 8 * 1024**3)
    ]
    assert nvme["allowed_nodes"] == ["pve2"]
    assert nvme["not_allowed_nodes"] == {"pve3": {"unavailable_storages": [NVME]}}
    assert shared["local_disks"] == [] and shared["local_resources"] == []


def test_a_live_migration_logs_its_progress_and_moves_the_vm(demo_pve: DemoPve, demo_api: Api) -> None:
    seeded(demo_pve)

    status, log = demo_api.run(
        "POST", f"/nodes/pve1/qemu/{SHARED_VM}/migrate", data={"target": "pve2", "online": 1}
    )

    assert status["exitstatus"] == "OK" and log[-1] == "TASK OK"
    assert all(STAMPED.match(line) for line in log[:-1])
    text = [STAMPED.sub("", line) for line in log]
    assert text[0].startswith(f"starting migration of VM {SHARED_VM} to node 'pve2' (")
    progress = [t for t in text if t.startswith("migration active, transferred ")]
    assert progress[0] == "migration active, transferred 292.6 MiB of 2.0 GiB VM-state, 292.6 MiB/s"
    assert "migration status: completed" in text
    assert any(re.match(r"average migration speed: .* - downtime \d+ ms$", t) for t in text)
    assert text[-2].startswith("migration finished successfully (duration ")
    assert node_of(demo_api, SHARED_VM) == "pve2"


def test_a_running_vm_with_a_local_disk_needs_with_local_disks(demo_pve: DemoPve, demo_api: Api) -> None:
    seeded(demo_pve)
    path = f"/nodes/pve1/qemu/{LOCAL_VM}/migrate"

    status, log = demo_api.run("POST", path, data={"target": "pve2", "online": 1})

    assert status["exitstatus"] == "migration aborted"
    assert any(
        "can't live migrate attached local disks without with-local-disks option" in line for line in log
    )
    assert node_of(demo_api, LOCAL_VM) == "pve1"
    status, log = demo_api.run("POST", path, data={"target": "pve2", "online": 1, "with-local-disks": 1})
    assert status["exitstatus"] == "OK"
    assert any(line.endswith("(100.00%) in 8s, ready") for line in log)
    assert node_of(demo_api, LOCAL_VM) == "pve2"


def test_early_refusals_are_proxmox_s(demo_pve: DemoPve, demo_api: Api) -> None:
    seeded(demo_pve)

    running = demo_api.request("POST", f"/nodes/pve1/qemu/{SHARED_VM}/migrate", data={"target": "pve2"})
    storage = demo_api.request(
        "POST", f"/nodes/pve1/qemu/{NVME_VM}/migrate", data={"target": "pve3", "online": 1}
    )
    local = demo_api.request("POST", f"/nodes/pve1/qemu/{SHARED_VM}/migrate", data={"target": "pve1"})

    assert running.status_code == 500 and "can't migrate running VM without --online" in running.text
    assert storage.status_code == 500 and f"storage '{NVME}' is not available on node 'pve3'" in storage.text
    assert local.status_code == 400 and local.json()["errors"] == {"target": "target is local node."}


def test_ha_migrates_the_guest_it_manages(demo_pve: DemoPve, demo_api: Api) -> None:
    seeded(demo_pve)

    answer = demo_api.data("POST", f"/cluster/ha/resources/vm:{HA_VM}/migrate", data={"node": "pve3"})
    unmanaged = demo_api.request(
        "POST", f"/cluster/ha/resources/vm:{SHARED_VM}/migrate", data={"node": "pve3"}
    )

    assert answer == {"sid": f"vm:{HA_VM}", "requested-node": "pve3"}
    assert node_of(demo_api, HA_VM) == "pve3"
    assert unmanaged.status_code == 500 and f"resource 'vm:{SHARED_VM}' is not HA managed" in unmanaged.text


def test_a_container_restarts_on_the_target_and_local_mounts_fail_the_task(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    seeded(demo_pve)
    path = f"/nodes/pve1/lxc/{RUNNING_CT}/migrate"

    refused = demo_api.request("POST", path, data={"target": "pve2"})
    status, log = demo_api.run("POST", path, data={"target": "pve2", "restart": 1})

    assert refused.status_code == 500
    assert "can't migrate running container without --online or --restart" in refused.text
    assert status["exitstatus"] == "OK"
    text = [STAMPED.sub("", line) for line in log]
    assert text[:3] == [
        f"shutdown CT {RUNNING_CT}",
        f"starting migration of CT {RUNNING_CT} to node 'pve2' (192.0.2.12)",
        f"found local volume 'local-lvm:vm-{RUNNING_CT}-disk-0' (in current VM config)",
    ]
    assert "start container on target node" in text
    assert demo_pve.ct(RUNNING_CT).node == "pve2" and demo_pve.ct(RUNNING_CT).status == "running"
    demo_pve.ct(STOPPED_CT).config["mp0"] = "/srv/data,mp=/data"
    status, log = demo_api.run("POST", f"/nodes/pve1/lxc/{STOPPED_CT}/migrate", data={"target": "pve2"})
    assert status["exitstatus"] == "migration aborted"
    assert log[-3].endswith("cannot migrate local bind mount point 'mp0'")
    assert demo_pve.ct(STOPPED_CT).node == "pve1"


def test_ha_restarts_a_container_it_manages_on_the_target(demo_pve: DemoPve, demo_api: Api) -> None:
    seeded(demo_pve)
    demo_pve.ct(RUNNING_CT).ha_state = "started"

    answer = demo_api.data("POST", f"/cluster/ha/resources/ct:{RUNNING_CT}/migrate", data={"node": "pve3"})
    wrong = demo_api.request("POST", f"/cluster/ha/resources/vm:{RUNNING_CT}/migrate", data={"node": "pve3"})

    assert answer == {"sid": f"ct:{RUNNING_CT}", "requested-node": "pve3"}
    assert demo_pve.ct(RUNNING_CT).node == "pve3" and demo_pve.ct(RUNNING_CT).status == "running"
    [task] = [t for t in demo_pve.tasklog if t["type"] == "vzmigrate"]
    assert task["user"] == "root@pam" and task["exitstatus"] == "OK"
    assert wrong.status_code == 500 and f"resource 'vm:{RUNNING_CT}' is not HA managed" in wrong.text
