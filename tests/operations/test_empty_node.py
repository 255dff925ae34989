"""Emptying a node, planned in memory: each guest to the node with the most free memory that the migration's
preflight allows, HA's preferences and maintenance mode, the guests that stay and why; nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest

from app.operations import evacuation
from app.operations.base import Refused
from app.operations.empty_node import EMPTY_NODE, EmptyNodeParams
from app.operations.evacuation import plan_evacuation, plan_return
from app.operations.ha_placement import ranked
from app.operations.migrate import MIGRATE
from app.proxmox import PveClient
from app.services.approvals import ApprovalPolicy
from tests.operations.answers import cluster, storage
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve

GIB = 1024**3
# The recorded cluster's free memory: node2 about 23.7 GiB, node3 and node4 about 13.9 GiB each.
BIG, SMALL, HA = 300, 301, 302


def running_vm(vmid: int, memory_gib: int, **extra: Any) -> dict[str, Any]:
    """A running VM on node1 in GET /cluster/resources."""
    return {
        "id": f"qemu/{vmid}",
        "type": "qemu",
        "vmid": vmid,
        "name": f"vm{vmid}",
        "node": "node1",
        "status": "running",
        "maxmem": memory_gib * GIB,
        "mem": GIB,
        **extra,
    }


def precondition(**extra: Any) -> dict[str, Any]:
    """GET .../qemu/{vmid}/migrate for a VM on shared storage that every other node may take."""
    answer = {
        "running": 1,
        "allowed_nodes": ["node2", "node3", "node4"],
        "not_allowed_nodes": {},
        "local_disks": [],
        "local_resources": [],
    }
    return answer | extra


def route_vm(proxmox: MemoryPve, vmid: int, answer: dict[str, Any] | None = None) -> None:
    """A VM's config (one disk on the shared 'ceph') and its migration precondition."""
    proxmox.answer("GET", f"/nodes/node1/qemu/{vmid}/config", {"scsi0": f"ceph:vm-{vmid}-disk-0,size=8G"})
    proxmox.answer("GET", f"/nodes/node1/qemu/{vmid}/migrate", answer or precondition())


def route_stopped(proxmox: MemoryPve) -> None:
    """The recorded cluster's stopped guests on node1 (101 a template, 102, 200): disks on local-zfs."""
    for vmid in (101, 102, 200):
        config = {"scsi0": f"local-zfs:vm-{vmid}-disk-0,size=32G"}
        proxmox.answer("GET", f"/nodes/node1/qemu/{vmid}/config", config)
        proxmox.answer("GET", f"/nodes/node1/qemu/{vmid}/migrate", precondition(running=0))


def ceph() -> list[dict[str, Any]]:
    return [storage(f"node{n}", "ceph", "rbd", "images", shared=1) for n in range(1, 5)]


async def test_each_guest_goes_where_most_memory_is_free_and_takes_it_there(
    proxmox: MemoryPve, pve: PveClient
) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster(*ceph(), running_vm(BIG, 20), running_vm(SMALL, 12)))
    route_vm(proxmox, BIG)
    route_vm(proxmox, SMALL)
    route_stopped(proxmox)

    plan = await plan_evacuation(pve, "node1", with_local_disks=False)

    moves = {m.vmid: m for m in plan.moves}
    assert [m.vmid for m in plan.moves][:2] == [BIG, SMALL]  # running first, the biggest first
    assert (moves[BIG].target, moves[BIG].params) == (
        "node2",
        {"target": "node2", "online": True, "with_local_disks": False},
    )
    assert moves[BIG].reason.startswith("3.7 GiB memory free after it; no local disks to copy")
    assert moves[SMALL].target in ("node3", "node4") and moves[SMALL].online
    assert moves[102].action == "migrate" and not moves[102].online
    assert "32 GiB of local disks to local-zfs" in moves[102].reason
    assert proxmox.changes == []


async def test_each_guest_is_read_once_however_many_nodes_are_judged(
    proxmox: MemoryPve, pve: PveClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SMALL is judged for node2 first, then (node2 full after BIG) for node3 and node4: from the same answers.
    monkeypatch.setattr(evacuation, "FIRST_LOOK", 1)
    proxmox.answer("GET", "/cluster/resources", cluster(*ceph(), running_vm(BIG, 20), running_vm(SMALL, 12)))
    route_vm(proxmox, BIG)
    route_vm(proxmox, SMALL)
    route_stopped(proxmox)

    plan = await plan_evacuation(pve, "node1", with_local_disks=False)

    moves = {m.vmid: m for m in plan.moves}
    assert (moves[BIG].target, moves[SMALL].target) == ("node2", "node3")
    for vmid in (BIG, SMALL, 102):
        # The precondition answers for every node (PVE reads no `target`): asked once, without one.
        reads = [(s.path.rsplit("/", 1)[1], s.params) for s in proxmox.sent if f"/qemu/{vmid}/" in s.path]
        assert reads == [("migrate", {}), ("config", {})]


async def test_a_guest_no_node_has_memory_for_stays_and_says_so(proxmox: MemoryPve, pve: PveClient) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster(*ceph(), running_vm(BIG, 40)))
    route_vm(proxmox, BIG)
    route_stopped(proxmox)

    plan = await plan_evacuation(pve, "node1", with_local_disks=False)

    [big] = [m for m in plan.moves if m.vmid == BIG]
    assert big.action == "stays" and big.target is None
    assert big.reason.startswith("it needs 40 GiB of memory; the most free is 23.")
    assert big.reason.endswith("on node2")


async def test_what_the_migration_refuses_is_the_reason_it_stays(proxmox: MemoryPve, pve: PveClient) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster(*ceph(), running_vm(BIG, 2)))
    route_vm(proxmox, BIG, precondition(local_resources=["hostpci0"]))
    route_stopped(proxmox)

    plan = await plan_evacuation(pve, "node1", with_local_disks=False)

    [big] = [m for m in plan.moves if m.vmid == BIG]
    assert big.action == "stays"
    assert big.reason == (
        "VM 300 vm300 uses hostpci0, which only node1 has: Proxmox cannot move it to another node while it does"
    )


def route_ha(proxmox: MemoryPve, lrm_status: str) -> None:
    """HA: VM 302 in group 'fast' (node3 first, then node4; restricted), node1's LRM in `lrm_status`."""
    status = [
        {"id": "quorum", "type": "quorum", "node": "node1", "status": "OK", "quorate": 1},
        {
            "id": "lrm:node1",
            "type": "lrm",
            "node": "node1",
            "status": f"node1 ({lrm_status}, watchdog active, Sun Dec  6 12:00:00 2026)",
        },
    ]
    proxmox.answer("GET", "/cluster/ha/status/current", status)
    proxmox.answer(
        "GET", "/cluster/ha/groups", [{"group": "fast", "nodes": "node4:1,node3:2", "restricted": 1}]
    )
    proxmox.answer("GET", "/cluster/ha/resources", [{"sid": f"vm:{HA}", "state": "started", "group": "fast"}])
    proxmox.answer("GET", "/cluster/ha/rules", [])


async def test_ha_groups_choose_the_node_before_free_memory(proxmox: MemoryPve, pve: PveClient) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster(*ceph(), running_vm(HA, 2, hastate="started")))
    route_ha(proxmox, "active")
    route_vm(proxmox, HA)
    route_stopped(proxmox)

    plan = await plan_evacuation(pve, "node1", with_local_disks=False)

    [ha] = [m for m in plan.moves if m.vmid == HA]
    assert ha.target == "node3"
    assert ha.reason.startswith("HA group fast allows only node3, node4; ")
    assert "ha-manager crm-command node-maintenance enable node1" in plan.notes[0]


async def test_in_maintenance_mode_ha_moves_its_guests_itself(proxmox: MemoryPve, pve: PveClient) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster(*ceph(), running_vm(HA, 2, hastate="started")))
    route_ha(proxmox, "maintenance mode")
    route_stopped(proxmox)

    plan = await plan_evacuation(pve, "node1", with_local_disks=False)

    [ha] = [m for m in plan.moves if m.vmid == HA]
    assert plan.maintenance and plan.notes == []
    assert (ha.action, ha.reason) == ("ha", "HA moves it: node1 is in HA maintenance mode")
    assert HA not in [m.vmid for m in plan.migrations]


async def test_an_unknown_or_offline_node_is_refused_naming_the_field(
    proxmox: MemoryPve, pve: PveClient
) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster(offline=("node3",)))

    with pytest.raises(Refused) as unknown:
        await plan_evacuation(pve, "node9", with_local_disks=False)
    with pytest.raises(Refused) as offline:
        await plan_evacuation(pve, "node3", with_local_disks=False)

    assert (unknown.value.field, unknown.value.message) == (
        "node",
        "There is no node 'node9'; choose one of: node1, node2, node3, node4.",
    )
    assert offline.value.message.startswith("Node node3 is offline")


async def test_bringing_back_plans_only_the_guests_still_away(proxmox: MemoryPve, pve: PveClient) -> None:
    away = {**running_vm(BIG, 2), "node": "node2"}
    proxmox.answer("GET", "/cluster/resources", cluster(*ceph(), away))
    proxmox.answer("GET", f"/nodes/node2/qemu/{BIG}/config", {"scsi0": "ceph:vm-300-disk-0,size=8G"})
    proxmox.answer("GET", f"/nodes/node2/qemu/{BIG}/migrate", precondition(allowed_nodes=["node1"]))

    plan = await plan_return(pve, "node1", [BIG, 102, 999], with_local_disks=False)

    assert [(m.vmid, m.action, m.target) for m in plan.moves] == [
        (BIG, "migrate", "node1"),
        (102, "stays", None),
        (999, "stays", None),
    ]
    assert plan.moves[1].reason == "already on node1"


async def test_the_catalogue_entry_runs_only_through_the_node_action(context: Ctx) -> None:
    assert EMPTY_NODE.target == "node" and EMPTY_NODE.guest_types == frozenset()
    assert EmptyNodeParams().model_dump() == {
        "with_local_disks": False,
        "concurrency": None,
        "stop_on_failure": False,
    }
    with pytest.raises(Refused) as refused:
        await EMPTY_NODE.call(context(None), EmptyNodeParams())
    assert "POST /api/v1/nodes/{node}/actions/empty-node" in refused.value.message


def test_ha_priorities_rank_the_nodes() -> None:
    assert ranked("pve1:1,pve2:3, pve3") == ("pve2", "pve1", "pve3")


def test_emptying_needs_approval_when_migrate_does_or_when_it_is_named() -> None:
    assert not ApprovalPolicy().needs_approval(EMPTY_NODE)
    assert ApprovalPolicy(extra=frozenset({"migrate"})).needs_approval(EMPTY_NODE)
    named = ApprovalPolicy(extra=frozenset({"empty-node"}))
    assert named.needs_approval(EMPTY_NODE) and not named.needs_approval(MIGRATE)
