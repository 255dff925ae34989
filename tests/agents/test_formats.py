"""The shell helper's line formats as pure functions: rounding, missing values, order, one line per item."""

from __future__ import annotations

from app.agents import formats


def test_percentages_round_half_away_from_zero_as_jq_does() -> None:
    assert [formats.rounded(v) for v in (0.5, 1.5, 2.5, 12.5, 8.7, 56.49)] == [1, 2, 3, 13, 9, 56]


def test_status_shows_usage_only_for_nodes_that_report_it() -> None:
    nodes = [
        {"node": "pve1", "status": "online", "cpu": 0.125, "mem": 1, "maxmem": 8},
        {"node": "pve2", "status": "online", "cpu": 0.0, "mem": 0, "maxmem": 0},
        {"node": "pve3", "status": "offline", "cpu": 0.0, "mem": 0, "maxmem": 0},
    ]
    assert formats.status_lines(nodes) == [
        "=== Nodes ===",
        "pve1: online | CPU: 13% | Mem: 13%",
        "pve2: online | CPU: 0%",
        "pve3: offline",
    ]


def test_fields_never_break_a_line_or_add_a_column() -> None:
    snapshots = [{"name": "a", "description": "two\nlines\tand a tab"}, {"name": "b", "description": ""}]
    assert formats.snapshot_lines(snapshots) == ["a\ttwo lines and a tab", "b\t"]


def test_storage_without_a_total_is_na_and_shared_storage_counts_for_its_nodes() -> None:
    storages = [
        {"storage": "zfs", "type": "zfspool", "node": "pve1", "nodes": ["pve1"], "used": 1, "total": 3},
        {"storage": "nas", "type": "nfs", "node": None, "nodes": ["pve1", "pve2"], "used": 0, "total": 0},
        {"storage": "local", "type": "dir", "node": "pve2", "nodes": ["pve2"], "used": 1, "total": 2},
    ]
    assert formats.storage_lines(storages, "pve1") == ["nas\tnfs\tN/A", "zfs\tzfspool\t33%"]


def test_ips_are_configured_ipv4_with_a_plain_prefix_in_numeric_order() -> None:
    def item(address: str, vmid: int, *sources: str, version: int = 4) -> dict[str, object]:
        return {"address": address, "vmid": vmid, "type": "lxc", "status": "running", "name": f"g{vmid}",
                "version": version, "sources": list(sources)}  # fmt: skip

    items = [
        item("10.44.0.30", 2, "config: net0"),
        item("10.44.0.3", 1, "config: ipconfig1"),
        item("10.44.0.4", 3, "guest agent"),
        item("10.44.0.5", 4, "config: net4"),
        item("fd00::3", 5, "config: net0", version=6),
        item("10.44.1.3", 6, "config: net1", "guest agent"),
    ]
    chosen = formats.configured_ipv4(items, "10.44.0.3")
    assert formats.ip_lines(chosen) == ["10.44.0.3\t1\tlxc\trunning\tg1", "10.44.0.30\t2\tlxc\trunning\tg2"]
    assert [i["address"] for i in formats.configured_ipv4(items)] == ["10.44.0.3", "10.44.0.30", "10.44.1.3"]


def test_task_start_times_are_utc_and_running_tasks_say_so() -> None:
    tasks = [
        {"starttime": 1796013951 + n, "type": "qmstart", "status": None if n == 11 else "OK"}
        for n in range(12)
    ]
    lines = formats.task_lines(list(reversed(tasks)))
    assert len(lines) == 10 and lines[0] == "2026-11-30T04:46:02Z\tqmstart\tRUNNING"
    assert lines[1] == "2026-11-30T04:46:01Z\tqmstart\tOK"
