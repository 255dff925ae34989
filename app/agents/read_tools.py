"""The MCP server's read tools: each one GET (or a poll) of /api/v1, answered with the API's JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.agents.api import ProxgateApi, path_segment
from app.agents.formats import on_node
from app.agents.waiting import DEFAULT_WAIT, wait_request, wait_task

Handler = Callable[[ProxgateApi, dict[str, Any]], Awaitable[Any]]
VMID = {"type": "integer", "minimum": 100, "maximum": 999_999_999, "description": "The guest's VMID"}
NODE = {"type": "string", "maxLength": 64, "description": "A node name, e.g. pve1"}
REQUEST_ID = {"type": "integer", "minimum": 1, "description": "The approval request's number"}
UPID = {"type": "string", "maxLength": 512, "description": "A task's UPID, as an action returned it"}
LIMIT = {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
WAIT = {
    "type": "integer",
    "minimum": 1,
    "maximum": 3600,
    "default": int(DEFAULT_WAIT),
    "description": "Seconds to wait at most; the answer then says where things stand",
}


@dataclass(frozen=True)
class ReadTool:
    """A tool that changes nothing in Proxmox (cancelling one's own request changes only the request)."""

    name: str
    description: str
    properties: dict[str, Any]
    required: tuple[str, ...]
    run: Handler
    read_only: bool = True

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema of its arguments."""
        return {
            "type": "object",
            "properties": self.properties,
            "required": list(self.required),
            "additionalProperties": False,
        }


async def _cluster(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return {"cluster": await api.get("/api/v1/cluster"), "nodes": await api.collect("/api/v1/nodes")}


async def _guests(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get("/api/v1/guests", **args)


async def _guest(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get(f"/api/v1/guests/{int(args['vmid'])}")


async def _snapshots(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return {"items": await api.collect(f"/api/v1/guests/{int(args['vmid'])}/snapshots")}


async def _backups(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get("/api/v1/backups", **args)


async def _storage(api: ProxgateApi, args: dict[str, Any]) -> Any:
    items = await api.collect("/api/v1/storage")
    return {"items": [s for s in items if "node" not in args or on_node(s, args["node"])]}


async def _tasks(api: ProxgateApi, args: dict[str, Any]) -> Any:
    limit = int(args.get("limit", 50))
    answer = await api.get("/api/v1/tasks", **{**args, "limit": limit})
    items = answer.get("items", []) if isinstance(answer, dict) else answer
    return {"items": items[:limit]}


async def _task(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get(f"/api/v1/tasks/{path_segment(args['upid'])}")


async def _ips(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get("/api/v1/ips", **args)


async def _free(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get("/api/v1/ips/free", **args)


async def _mine(api: ProxgateApi, args: dict[str, Any]) -> Any:
    me = (await api.get("/api/v1/me"))["username"]
    limit = int(args.get("limit", 50))
    items = await api.collect("/api/v1/requests", status=args.get("status"))
    return {"items": [r for r in items if (r.get("requested") or {}).get("by") == me][:limit]}


async def _request(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get(f"/api/v1/requests/{int(args['request_id'])}")


async def _wait_request(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await wait_request(api, int(args["request_id"]), float(args.get("wait_seconds", DEFAULT_WAIT)))


async def _wait_task(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await wait_task(api, str(args["upid"]), float(args.get("wait_seconds", DEFAULT_WAIT)))


async def _cancel(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return (await api.post(f"/api/v1/requests/{int(args['request_id'])}/cancel"))[1]


async def _whoami(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get("/api/v1/me")


READ_TOOLS: tuple[ReadTool, ...] = (
    ReadTool("whoami", "Who this agent acts as in Proxgate and with which role.", {}, (), _whoami),
    ReadTool(
        "cluster_status",
        "Quorum, Proxmox versions, guest counts, storages above 85 %, and every node with CPU and memory.",
        {},
        (),
        _cluster,
    ),
    ReadTool(
        "list_guests",
        "List or search VMs and containers (q: a VMID or its start, part of a name, a tag or an IP).",
        {
            "q": {"type": "string", "maxLength": 200},
            "node": NODE,
            "type": {"type": "string", "enum": ["qemu", "lxc"]},
            "status": {"type": "string", "enum": ["running", "stopped", "paused", "unknown"]},
            "tag": {"type": "string", "maxLength": 64},
            "limit": LIMIT,
            "cursor": {"type": "string", "description": "next_cursor of the previous answer"},
        },
        (),
        _guests,
    ),
    ReadTool(
        "get_guest",
        "One guest: status, usage, config, disks, IP addresses, snapshots, backups, recent tasks and the "
        "operations that fit its state. Read this before changing a guest.",
        {"vmid": VMID},
        ("vmid",),
        _guest,
    ),
    ReadTool(
        "list_snapshots",
        "A guest's snapshots as Proxmox lists them (name, description, time, parent), 'current' included.",
        {"vmid": VMID},
        ("vmid",),
        _snapshots,
    ),
    ReadTool(
        "list_backups",
        "Backups on every storage, newest first; filter by guest (VMID), storage, age in days, newest only.",
        {
            "guest": VMID,
            "storage": {"type": "string", "maxLength": 64},
            "older_than": {"type": "integer", "minimum": 0},
            "newer_than": {"type": "integer", "minimum": 0},
            "newest": {"type": "boolean", "default": False},
        },
        (),
        _backups,
    ),
    ReadTool(
        "list_storage",
        "Storages with type, content, used and total bytes and percent; only one node's with `node`.",
        {"node": NODE},
        (),
        _storage,
    ),
    ReadTool(
        "list_tasks",
        "Recent Proxmox tasks, newest first; filter by node, guest (VMID), type and state.",
        {
            "node": NODE,
            "guest": VMID,
            "type": {"type": "string", "maxLength": 64, "description": "e.g. qmstart, vzdump"},
            "status": {"type": "string", "enum": ["running", "ok", "warning", "error"]},
            "limit": LIMIT,
        },
        (),
        _tasks,
    ),
    ReadTool("get_task", "A task's status, exit status and whole log.", {"upid": UPID}, ("upid",), _task),
    ReadTool(
        "list_ips",
        "The IP inventory: every address Proxmox knows (configs, guest agents, containers) with its guest, "
        "and notes on what it cannot see. Never guess an address: look here.",
        {"prefix": {"type": "string", "maxLength": 64, "description": "10.0.10.21, 10.0. or 10.0.10.0/24"}},
        (),
        _ips,
    ),
    ReadTool(
        "free_ips",
        "Addresses of a subnet that no guest, gateway or node uses, as far as Proxmox can tell. Use this "
        "to pick an address for a new guest.",
        {"cidr": {"type": "string", "maxLength": 64, "description": "e.g. 10.0.10.0/24"}, "limit": LIMIT},
        ("cidr",),
        _free,
    ),
    ReadTool(
        "my_requests",
        "The approval requests this agent made, newest first (status: pending, succeeded, rejected, ...).",
        {"status": {"type": "string", "maxLength": 120, "description": "Comma-separated"}, "limit": LIMIT},
        (),
        _mine,
    ),
    ReadTool(
        "get_request",
        "One approval request: status, parameters, preview, approvals, and once run its task and result.",
        {"request_id": REQUEST_ID},
        ("request_id",),
        _request,
    ),
    ReadTool(
        "wait_request",
        "Wait until a person decides the request and it has run (or was rejected, cancelled, expired); "
        "answers the request as it then stands.",
        {"request_id": REQUEST_ID, "wait_seconds": WAIT},
        ("request_id",),
        _wait_request,
    ),
    ReadTool(
        "wait_task",
        "Wait until a Proxmox task ends; answers its status, exit status and log.",
        {"upid": UPID, "wait_seconds": WAIT},
        ("upid",),
        _wait_task,
    ),
    ReadTool(
        "cancel_request",
        "Take back one of your own pending approval requests (nothing in Proxmox changes).",
        {"request_id": REQUEST_ID},
        ("request_id",),
        _cancel,
        read_only=False,
    ),
)
BY_NAME = {tool.name: tool for tool in READ_TOOLS}
