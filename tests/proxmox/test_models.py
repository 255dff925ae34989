"""The typed models accept what real PVE servers sent (the recorded samples) and fakepve's shapes."""

from __future__ import annotations

import asyncio
import gc
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from app.proxmox.models import (
    ClusterResources,
    ClusterStatus,
    GuestResource,
    NodeResource,
    StorageResource,
    TaskLogLine,
    TaskStatus,
    validate_rows,
    validate_rows_in_turns,
)
from tests.proxmox.conftest import SAMPLES

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def sample(name: str) -> Any:
    """The JSON of a sample file."""
    return json.loads((SAMPLES / name).read_text())


def test_cluster_resources_sample() -> None:
    res = ClusterResources.from_api(sample("gp_cluster_resources.json")["data"], NOW)
    assert {g.vmid for g in res.guests} >= {100, 101, 102, 200}
    assert {n.node for n in res.nodes} == {"node1", "node2", "node3", "node4"}
    assert res.storages and all(isinstance(s, StorageResource) for s in res.storages)
    template = res.guest(101)
    assert template is not None and template.template is True and template.node == "node1"
    tagged = res.guest(102)
    assert tagged is not None and tagged.tags == ["go-proxmox+cloud-init"]
    assert res.locate(100) is not None and res.locate(100) == res.locate(100)
    assert res.locate(100).node == "node2"  # type: ignore[union-attr]
    assert res.locate(999) is None
    assert res.fetched_at == NOW


def test_cluster_status_sample() -> None:
    status = ClusterStatus.from_api(sample("gp_cluster_status.json")["data"])
    assert (status.name, status.quorate, status.clustered) == ("clustername", True, True)
    assert [n.name for n in status.nodes] == ["node2", "node3", "node1", "node4"]
    local = [n for n in status.nodes if n.local]
    assert [(n.name, n.ip, n.online) for n in local] == [("node1", "192.168.1.1", True)]


def test_standalone_node_has_no_cluster_entry() -> None:
    status = ClusterStatus.from_api(
        [{"type": "node", "id": "node/pve", "name": "pve", "online": 1, "local": 1}]
    )
    assert (status.name, status.clustered, status.quorate) == (None, False, True)


def test_nodes_sample() -> None:
    nodes = [NodeResource.model_validate(n) for n in sample("gp_nodes.json")["data"]]
    assert [n.node for n in nodes] == ["node1", "node2", "node3", "node4"]
    assert all(n.online and n.ssl_fingerprint and n.maxcpu >= 4 for n in nodes)


def test_old_lxc_list_with_string_vmids() -> None:
    rows = sample("gp_lxc_list_vmid_as_string.json")["data"]
    guests = [GuestResource.model_validate({**row, "node": "pve"}) for row in rows]
    assert [g.vmid for g in guests] == [106, 105, 101]
    assert [g.template for g in guests] == [False, False, True]


def test_task_status_samples() -> None:
    running = TaskStatus.model_validate(sample("px_task_status_running.json")["data"])
    assert running.running and not running.succeeded and not running.failed
    stopped = TaskStatus.model_validate(sample("px_task_status_stopped_error.json")["data"])
    assert stopped.failed and stopped.exitstatus == "interrupted by signal"
    assert stopped.id == "110"


@pytest.mark.parametrize(("exitstatus", "succeeded"), [("OK", True), ("WARNINGS: 2", True), ("boom", False)])
def test_task_outcome(exitstatus: str, succeeded: bool) -> None:
    task = TaskStatus(upid="UPID:x", node="pve", status="stopped", exitstatus=exitstatus)
    assert (task.succeeded, task.failed) == (succeeded, not succeeded)


def test_task_log_sample() -> None:
    lines = [TaskLogLine.model_validate(row) for row in sample("gp_task_log_imgcopy_data.json")]
    assert [line.n for line in lines] == list(range(1, 8))
    assert lines[-1].t == "TASK OK"


def test_guest_quirks_ints_as_strings_tags_and_missing_fields() -> None:
    guest = GuestResource.model_validate(
        {"vmid": "105", "type": "lxc", "node": "pve", "template": "1", "tags": "b, a;c d", "maxcpu": "0.5"}
    )
    assert (guest.vmid, guest.template, guest.tags, guest.maxcpu) == (105, True, ["b", "a", "c", "d"], 0.5)
    assert (guest.status, guest.mem, guest.pool, guest.running) == ("unknown", 0, None, False)


def test_unknown_kinds_are_left_out_and_a_bad_row_is_skipped() -> None:
    rows = [
        {"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve"},
        {"id": "qemu/x", "type": "qemu", "vmid": "not-a-number", "node": "pve"},
        {"id": "/pool/prod", "type": "pool", "pool": "prod"},
        {"id": "sdn/pve/localnetwork", "type": "sdn", "sdn": "localnetwork", "node": "pve"},
        {
            "id": "storage/pve/local",
            "type": "storage",
            "storage": "local",
            "node": "pve",
            "content": "iso,backup",
        },
    ]
    res = ClusterResources.from_api(rows, NOW)
    assert [g.vmid for g in res.guests] == [100]
    assert res.storages[0].content == ["iso", "backup"]
    assert res.nodes == []


async def test_a_long_list_is_validated_in_slices_letting_other_tasks_run_between() -> None:
    rows: list[Any] = [{"vmid": n, "node": "pve1", "type": "qemu", "id": f"qemu/{n}"} for n in range(1200)]
    rows[700] = {"vmid": "not a number", "node": "pve1", "type": "qemu", "id": "qemu/x"}
    ran_meanwhile: list[int] = []

    async def other_request() -> None:
        ran_meanwhile.append(len(ran_meanwhile))

    other = asyncio.ensure_future(other_request())
    guests = await validate_rows_in_turns(TypeAdapter(list[GuestResource]), rows)
    assert ran_meanwhile == [0] and other.done(), "another task ran before the list was done"
    assert len(guests) == 1199 and guests[0].vmid == 0 and guests[-1].vmid == 1199, (
        "the bad row alone is skipped"
    )
    assert [g.vmid for g in guests] == [g.vmid for g in validate_rows(TypeAdapter(list[GuestResource]), rows)]


async def test_cluster_resources_read_in_turns_match_the_whole() -> None:
    data = sample("gp_cluster_resources.json")["data"]
    many = [
        *data,
        *({"type": "qemu", "vmid": 5000 + n, "node": "node1", "status": "running"} for n in range(1200)),
    ]
    ran_meanwhile = []

    async def other_request() -> None:
        ran_meanwhile.append(True)

    other = asyncio.ensure_future(other_request())
    res = await ClusterResources.from_api_in_turns(many, NOW)
    assert ran_meanwhile and other.done(), "another task ran while the guests were read"
    assert res == ClusterResources.from_api(many, NOW)
    assert res.guest(6199) is not None and {n.node for n in res.nodes} == {"node1", "node2", "node3", "node4"}
    assert gc.isenabled()
