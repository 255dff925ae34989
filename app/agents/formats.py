"""The shell helper's tab-separated listings, rebuilt from /api/v1 answers (pure functions, no I/O).

The helper (`pve.sh status`, `vms`, ...) printed Proxmox's answers through jq; scripts parse those lines, so
`proxgate ctl` prints the very same ones: one item a line, fields separated by a tab, percentages rounded half
away from zero as jq's `round` does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Addresses the helper read: ip= of a container's net0-net3 and a VM's cloud-init ipconfig0-ipconfig3.
CONFIG_SOURCE = re.compile(r"^config: (net|ipconfig)[0-3]$")
RECENT_TASKS = 10
_SPACE = re.compile(r"[\t\r\n]+")


def rounded(value: float) -> int:
    """Half away from zero, as jq's round (Python's round() goes to the even neighbour)."""
    return int(Decimal(value).to_integral_value(rounding=ROUND_HALF_UP))


def field(value: Any) -> str:
    """A value as one tab-free field (a tab or line break would split the line for the scripts)."""
    return _SPACE.sub(" ", "" if value is None else str(value))


def line(*values: Any) -> str:
    """Fields joined by tabs."""
    return "\t".join(field(v) for v in values)


def status_lines(nodes: Iterable[dict[str, Any]]) -> list[str]:
    """`=== Nodes ===`, then `NODE: STATUS | CPU: N% | Mem: N%`; Proxmox reports no usage for offline nodes."""
    lines = ["=== Nodes ==="]
    for node in nodes:
        text = f"{node['node']}: {node['status']}"
        if node["status"] == "online":
            text += f" | CPU: {rounded(float(node.get('cpu') or 0) * 100)}%"
        if node.get("maxmem"):
            text += f" | Mem: {rounded(node['mem'] / node['maxmem'] * 100)}%"
        lines.append(text)
    return lines


def guest_lines(guests: Iterable[dict[str, Any]], with_node: bool) -> list[str]:
    """`VMID NAME STATUS` (and `NODE` for the whole cluster), by VMID."""
    ordered = sorted(guests, key=lambda g: int(g["vmid"]))
    if with_node:
        return [line(g["vmid"], g.get("name"), g["status"], g["node"]) for g in ordered]
    return [line(g["vmid"], g.get("name"), g["status"]) for g in ordered]


def snapshot_lines(snapshots: Iterable[dict[str, Any]]) -> list[str]:
    """`NAME DESCRIPTION` in Proxmox's order, an empty field for no description (as the helper prints it),
    `current` included."""
    return [line(s["name"], s.get("description") or "") for s in snapshots]


def utc(timestamp: int | float) -> str:
    """2026-11-30T04:45:51Z, as jq's todate."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def task_lines(tasks: list[dict[str, Any]]) -> list[str]:
    """`START TYPE STATUS` of the first ten tasks (the API lists the newest first), START in UTC."""
    return [
        line(utc(t.get("starttime") or 0), t.get("type"), t.get("status") or "RUNNING")
        for t in tasks[:RECENT_TASKS]
    ]


def on_node(storage: dict[str, Any], node: str) -> bool:
    """True for the node's own storages and the shared ones it sees."""
    return storage.get("node") == node or (storage.get("node") is None and node in storage.get("nodes", []))


def storage_lines(storages: Iterable[dict[str, Any]], node: str) -> list[str]:
    """`STORAGE TYPE USED%` of the node's storages by name; `N/A` when Proxmox reports no total."""
    mine = sorted((s for s in storages if on_node(s, node)), key=lambda s: str(s["storage"]))
    return [
        line(
            s["storage"], s["type"], f"{rounded(s['used'] / s['total'] * 100)}%" if s.get("total") else "N/A"
        )
        for s in mine
    ]


def configured_ipv4(items: Iterable[dict[str, Any]], prefix: str | None = None) -> list[dict[str, Any]]:
    """The inventory's configured IPv4 addresses that start with prefix (a plain string), in numeric order."""
    chosen = [
        i
        for i in items
        if i.get("version") == 4
        and str(i["address"]).startswith(prefix or "")
        and any(CONFIG_SOURCE.match(s) for s in i.get("sources") or [])
    ]
    return sorted(chosen, key=lambda i: (int(ipaddress.IPv4Address(i["address"])), int(i["vmid"])))


def ip_lines(items: Iterable[dict[str, Any]]) -> list[str]:
    """`IP VMID TYPE STATUS NAME` of the chosen addresses."""
    return [line(i["address"], i["vmid"], i["type"], i["status"], i.get("name")) for i in items]


def request_lines(requests: Iterable[dict[str, Any]]) -> list[str]:
    """`ID STATUS OPERATION VMID REQUESTED_BY DESCRIPTION`, newest first as the API gives them."""
    return [
        line(
            r["id"],
            r["status"],
            r["operation"],
            (r.get("target") or {}).get("vmid") or "-",
            (r.get("requested") or {}).get("by"),
            r.get("description"),
        )
        for r in requests
    ]


def request_detail(request: dict[str, Any]) -> list[str]:
    """One request as `KEY VALUE` lines."""
    result = request.get("result") or {}
    pairs = [
        ("id", request["id"]),
        ("status", request["status"]),
        ("operation", request["operation"]),
        ("vmid", (request.get("target") or {}).get("vmid") or "-"),
        ("description", request.get("description")),
        ("reason", request.get("reason")),
        ("requested_by", (request.get("requested") or {}).get("by")),
        ("url", request.get("url")),
        ("upid", request.get("upid") or "-"),
        ("exitstatus", result.get("exitstatus") or "-"),
    ]
    return [line(key, value) for key, value in pairs]


def operation_lines(operations: Iterable[dict[str, Any]]) -> list[str]:
    """`NAME RISK APPROVAL LABEL` in the catalogue's order; APPROVAL is `approval` or `-`."""
    return [
        line(op["name"], op["risk"], "approval" if op.get("needs_approval") else "-", op["label"])
        for op in operations
    ]


def alert_lines(alerts: Iterable[dict[str, Any]]) -> list[str]:
    """`ID CREATED_AT VMID MESSAGE ACKNOWLEDGED_BY COMMENT` of side-door alerts, `-` for what an open one lacks."""
    return [
        line(
            a["id"],
            a["created_at"],
            a.get("vmid") or "-",
            a["message"],
            a.get("acknowledged_by") or "-",
            a.get("comment") or "-",
        )
        for a in alerts
    ]
