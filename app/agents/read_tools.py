"""The MCP server's read tools that answer one thing (who, the cluster, a guest, a node, a task, a request,
a subnet's free addresses) or wait for one: each a GET (or a poll) of /api/v1, bounded to fit a context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.agents.answers import cap, fallback_summary
from app.agents.api import ProxgateApi, path_segment
from app.agents.schemas import (
    ANY_OBJECT,
    CURSOR,
    LOG_LINES,
    NODE,
    REQUEST_ID,
    TEXT_OR_NULL,
    UPID,
    VMID,
    WAIT,
    answer,
    limit,
)
from app.agents.waiting import DEFAULT_WAIT, wait_request, wait_task

Handler = Callable[[ProxgateApi, dict[str, Any]], Awaitable[Any]]
Summary = Callable[[Any], str]
# How much of a guest's or a node's lists one answer carries; the listing tools page through the rest.
GUEST_BACKUPS, GUEST_LISTS, NODE_VMIDS, NOTES_SHOWN = 10, 50, 100, 10
DEFAULT_LOG_LINES = 50


@dataclass(frozen=True)
class ReadTool:
    """A tool that changes nothing in Proxmox (cancelling one's own request changes only the request)."""

    name: str
    description: str
    properties: dict[str, Any]
    required: tuple[str, ...]
    run: Handler
    output: dict[str, Any] = field(default_factory=lambda: ANY_OBJECT)
    summary: Summary = fallback_summary
    read_only: bool = True
    # A tool that is not read-only may still lose data (run_bulk of a deletion, once approved).
    destructive: bool = False
    # The only roles offered it, where the API asks more than a read (every role) or a change (operator up).
    roles: frozenset[str] | None = None

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema of its arguments."""
        return {
            "type": "object",
            "properties": self.properties,
            "required": list(self.required),
            "additionalProperties": False,
        }


async def _whoami(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get("/api/v1/me")


async def _cluster(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return {"cluster": await api.get("/api/v1/cluster"), "nodes": await api.collect("/api/v1/nodes")}


async def _guest(api: ProxgateApi, args: dict[str, Any]) -> Any:
    guest = await api.get(f"/api/v1/guests/{int(args['vmid'])}")
    if not [s for s in guest.get("snapshots") or [] if s.get("name") != "current"]:
        needing = snapshot_operations(await api.collect("/api/v1/operations"))
        guest["operations"] = [name for name in guest.get("operations") or [] if name not in needing]
    cap(guest, "backups", GUEST_BACKUPS)
    for key in ("snapshots", "addresses", "address_notes", "tasks"):
        cap(guest, key, GUEST_LISTS)
    return guest


def snapshot_operations(catalogue: list[dict[str, Any]]) -> set[str]:
    """The operations that act on a snapshot the guest has (rollback, delete-snapshot): they require its name,
    and unlike taking a snapshot they are not reversible. A guest without snapshots is offered none of them."""
    return {
        op["name"]
        for op in catalogue
        if op["risk"] != "reversible" and "snapname" in (op.get("parameters") or {}).get("required", [])
    }


async def _node(api: ProxgateApi, args: dict[str, Any]) -> Any:
    node = await api.get(f"/api/v1/nodes/{path_segment(args['node'])}")
    cap(node.get("guests") or {}, "vmids", NODE_VMIDS)
    return node


def _log_bounded(task: dict[str, Any], lines: int) -> dict[str, Any]:
    return cap(task, "log", lines, newest_last=True)


async def _task(api: ProxgateApi, args: dict[str, Any]) -> Any:
    task = await api.get(f"/api/v1/tasks/{path_segment(args['upid'])}")
    return _log_bounded(task, int(args.get("log_lines", DEFAULT_LOG_LINES)))


async def _wait_task(api: ProxgateApi, args: dict[str, Any]) -> Any:
    task = await wait_task(api, str(args["upid"]), float(args.get("wait_seconds", DEFAULT_WAIT)))
    return _log_bounded(task, int(args.get("log_lines", DEFAULT_LOG_LINES)))


async def _free(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get(
        "/api/v1/ips/free", **{"limit": 20, "used_limit": 20, "notes_limit": NOTES_SHOWN, **args}
    )


async def _request(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get(f"/api/v1/requests/{int(args['request_id'])}")


async def _wait_request(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await wait_request(api, int(args["request_id"]), float(args.get("wait_seconds", DEFAULT_WAIT)))


async def _cancel(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return (await api.post(f"/api/v1/requests/{int(args['request_id'])}/cancel"))[1]


def _guest_line(g: dict[str, Any]) -> str:
    kind = "VM" if g.get("type") == "qemu" else "CT"
    return f"{kind} {g.get('vmid')} {g.get('name')}: {g.get('status')} on {g.get('node')}."


def _task_line(t: dict[str, Any]) -> str:
    shown = f" (last {len(t.get('log') or [])} of {t['log_total']} log lines)" if t.get("log_total") else ""
    return f"Task {t.get('type')} on {t.get('node')}: {t.get('status')}, exit status {t.get('exitstatus')}{shown}."


def _request_line(r: dict[str, Any]) -> str:
    target = (r.get("target") or {}).get("vmid") or ""
    text = f"Request {r.get('id')} ({r.get('operation')} {target}): {r.get('status')}. {r.get('url', '')}"
    result, decided = r.get("result") or {}, r.get("decided") or {}
    if result:
        text += f" Exit status {result.get('exitstatus')}: {result.get('message') or ''}"
    if r.get("status") in ("rejected", "cancelled") and decided.get("by"):
        text += (
            f" {str(r['status']).capitalize()} by {decided['by']}: {decided.get('comment') or 'no comment'}."
        )
    return text.strip()


def _free_line(f: dict[str, Any]) -> str:
    text = f"{f.get('free_count')} of {f.get('hosts')} host addresses of {f.get('cidr')} are free as far as "
    text += f"Proxmox can tell; {len(f.get('free') or [])} listed. Check the network before using one."
    if f.get("next_cursor"):
        text += f' More: call list_free_ips with the same cidr and cursor="{f["next_cursor"]}".'
    return text


def _cluster_line(c: dict[str, Any]) -> str:
    cluster, nodes = c.get("cluster") or {}, c.get("nodes") or []
    names = ", ".join(f"{n.get('node')} ({n.get('status')})" for n in nodes)
    return f"Cluster {cluster.get('name')}: quorate {cluster.get('quorate')}; nodes {names}."


TASK = answer("upid", "status", "exitstatus", "log")
REQUEST = answer("id", "status", "operation", "url")
FREE = answer(
    "cidr", "free", "free_count", "next_cursor", "used", "used_count", "notes", next_cursor=TEXT_OR_NULL
)
ONE_TOOLS: tuple[ReadTool, ...] = (
    ReadTool(
        "get_identity",
        "Who this agent acts as in Proxgate, and its role.",
        {},
        (),
        _whoami,
        answer("username", "role"),
        lambda me: f"You act as {me.get('username')}, role {me.get('role')}.",
    ),
    ReadTool(
        "get_cluster",
        "Quorum, versions, guest counts, storages above 85 %, and every node (its name, status, CPU, memory).",
        {},
        (),
        _cluster,
        answer("cluster", "nodes"),
        _cluster_line,
    ),
    ReadTool(
        "get_guest",
        "One guest: status, usage, config, disks, addresses, snapshots, newest backups, recent tasks, and the "
        "operations that fit its state. Read it before changing a guest.",
        {"vmid": VMID},
        ("vmid",),
        _guest,
        answer("vmid", "name", "type", "node", "status", "config", "operations"),
        _guest_line,
    ),
    ReadTool(
        "get_node",
        "One node: status, PVE and kernel version, CPU, load, memory, storage, its guests' VMIDs, recent tasks.",
        {"node": NODE},
        ("node",),
        _node,
        answer("node", "status", "guests"),
        lambda n: f"Node {n.get('node')}: {n.get('status')}, PVE {n.get('version')}.",
    ),
    ReadTool(
        "get_task",
        "A task's status, exit status and the end of its log.",
        {"upid": UPID, "log_lines": LOG_LINES},
        ("upid",),
        _task,
        TASK,
        _task_line,
    ),
    ReadTool(
        "wait_task",
        "Wait until a task ends; answers as get_task.",
        {"upid": UPID, "wait_seconds": WAIT, "log_lines": LOG_LINES},
        ("upid",),
        _wait_task,
        TASK,
        _task_line,
    ),
    ReadTool(
        "list_free_ips",
        "Addresses of a subnet no guest, gateway or node uses, as far as Proxmox can tell (not DHCP leases or "
        "hosts outside the cluster), what uses the others, and notes. Pick a new guest's address here. More "
        "free addresses: pass next_cursor as cursor.",
        {
            "cidr": {"type": "string", "maxLength": 64, "description": "e.g. 10.0.10.0/24"},
            "limit": limit(20),
            "cursor": CURSOR,
            "used_limit": {"type": "integer", "minimum": 0, "maximum": 500, "default": 20},
        },
        ("cidr",),
        _free,
        FREE,
        _free_line,
    ),
    ReadTool(
        "get_request",
        "One approval request: status, parameters, preview, approvals, and once run its task and result.",
        {"request_id": REQUEST_ID},
        ("request_id",),
        _request,
        REQUEST,
        _request_line,
    ),
    ReadTool(
        "wait_request",
        "Wait until a person decides the request and it ran (or was rejected, cancelled, expired); answers as "
        "get_request.",
        {"request_id": REQUEST_ID, "wait_seconds": WAIT},
        ("request_id",),
        _wait_request,
        REQUEST,
        _request_line,
    ),
    ReadTool(
        "cancel_request",
        "Take back one of your own approval requests, pending or approved and waiting for its maintenance window "
        "(scheduled); nothing in Proxmox changes.",
        {"request_id": REQUEST_ID},
        ("request_id",),
        _cancel,
        REQUEST,
        _request_line,
        read_only=False,
    ),
)
