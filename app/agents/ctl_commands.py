"""What each `proxgate ctl` command asks /api/v1 and prints; each returns the process's exit code. The
listings have a function each; every operation of the catalogue goes through cmd_operation."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app.agents import formats, waiting
from app.agents.api import MAX_PAGES, ApiError, ProxgateApi
from app.agents.ctl_bulk import cmd_batch, cmd_batch_stop, cmd_bring_back, cmd_bulk, follow, show_batch
from app.agents.ctl_parser import body_of, command_parser
from app.agents.ctl_watch import cmd_ack, cmd_alerts, cmd_log
from app.agents.op_tools import action_path
from app.agents.waiting import task_failed, wait_batch, wait_request, wait_task

# Exit codes (documented in docs/agents.md): done, failed, usage, waiting for a person, refused.
DONE, FAILED, USAGE, PENDING, REFUSED = 0, 1, 2, 3, 4
REQUEST_EXIT = {"succeeded": DONE, "failed": FAILED, "pending": PENDING, "executing": PENDING}
Command = Callable[[ProxgateApi, argparse.Namespace], Awaitable[int]]
TASK_PAGE = 50


def emit(lines: list[str]) -> None:
    """Print the lines, one a line."""
    for text in lines:
        print(text)


def emit_json(value: Any) -> None:
    """Print the API's JSON."""
    print(json.dumps(value, indent=2, ensure_ascii=False))


async def known_node(api: ProxgateApi, node: str) -> None:
    """ApiError 404 unless the cluster has this node (the helper's Proxmox said so too)."""
    names = [n["node"] for n in await api.collect("/api/v1/nodes")]
    if node not in names:
        raise ApiError(404, f"There is no node '{node}'; the nodes are {', '.join(names) or 'none'}.", "node")


async def guest_on_node(api: ProxgateApi, vmid: int, node: str) -> None:
    """ApiError 404 unless the guest is on this node (the helper's Proxmox found no such guest there)."""
    await known_node(api, node)
    where = (await api.get(f"/api/v1/guests/{int(vmid)}")).get("node")
    if where != node:
        raise ApiError(404, f"Guest {vmid} is on {where}, not on {node}.", "node")


def listing(args: argparse.Namespace, items: Any, lines: list[str]) -> int:
    """The API's items as JSON with --json, else the helper's lines."""
    if args.json:
        emit_json(items)
    else:
        emit(lines)
    return DONE


async def cmd_status(api: ProxgateApi, args: argparse.Namespace) -> int:
    """=== Nodes === and one line per node."""
    nodes = await api.collect("/api/v1/nodes")
    return listing(args, nodes, formats.status_lines(nodes))


async def cmd_vms(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Every guest with its node, or one node's VMs."""
    if args.node is None:
        guests = await api.collect("/api/v1/guests", per_page=200)
        return listing(args, guests, formats.guest_lines(guests, with_node=True))
    await known_node(api, args.node)
    guests = await api.collect("/api/v1/guests", node=args.node, type="qemu", per_page=200)
    return listing(args, guests, formats.guest_lines(guests, with_node=False))


async def cmd_lxc(api: ProxgateApi, args: argparse.Namespace) -> int:
    """One node's containers."""
    await known_node(api, args.node)
    guests = await api.collect("/api/v1/guests", node=args.node, type="lxc", per_page=200)
    return listing(args, guests, formats.guest_lines(guests, with_node=False))


async def cmd_snapshots(api: ProxgateApi, args: argparse.Namespace) -> int:
    """A guest's snapshots, 'current' included."""
    if args.at_node:
        await guest_on_node(api, args.vmid, args.at_node)
    snapshots = await api.collect(f"/api/v1/guests/{args.vmid}/snapshots")
    return listing(args, snapshots, formats.snapshot_lines(snapshots))


async def cmd_tasks(api: ProxgateApi, args: argparse.Namespace) -> int:
    """A node's ten newest finished tasks, as the helper's GET /nodes/{node}/tasks lists them (running ones
    are not in Proxmox's task archive yet)."""
    await known_node(api, args.node)
    tasks = await finished_tasks(api, args.node, formats.RECENT_TASKS)
    return listing(args, tasks, formats.task_lines(tasks))


async def finished_tasks(api: ProxgateApi, node: str, count: int) -> list[dict[str, Any]]:
    """The node's `count` newest tasks that have ended, newest first, read a page at a time."""
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"node": node, "limit": TASK_PAGE}
    for _ in range(MAX_PAGES):
        page = await api.get("/api/v1/tasks", **query)
        found += [t for t in page.get("items") or [] if t.get("state") != "running"]
        if len(found) >= count or not page.get("next_cursor"):
            break
        query["cursor"] = page["next_cursor"]
    return found[:count]


async def cmd_storage(api: ProxgateApi, args: argparse.Namespace) -> int:
    """A node's storages and how full they are."""
    await known_node(api, args.node)
    storages = await api.collect("/api/v1/storage")
    mine = [s for s in storages if formats.on_node(s, args.node)]
    return listing(args, mine, formats.storage_lines(mine, args.node))


async def cmd_ips(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Configured IPv4 addresses (every page of the inventory), optionally those that start with a prefix."""
    # The helper's prefix is a plain string ('10.97.0.3' also finds 10.97.0.30): filtered here, as it does.
    # The notes are not printed: no page brings them along. A new install reads every guest once first.
    await waiting.wait_complete(api, "/api/v1/ips")
    chosen = formats.configured_ipv4(await api.collect("/api/v1/ips", notes_limit=0), args.prefix)
    return listing(args, chosen, formats.ip_lines(chosen))


async def cmd_requests(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Approval requests, newest first."""
    items = await api.collect("/api/v1/requests", status=args.status)
    return listing(args, items, formats.request_lines(items))


async def cmd_request(api: ProxgateApi, args: argparse.Namespace) -> int:
    """One approval request."""
    request = await api.get(f"/api/v1/requests/{args.id}")
    return listing(args, request, formats.request_detail(request))


async def cmd_wait(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Wait for a request (a number), a task (a UPID) or a batch (its id) to end."""
    if args.target.isdigit():
        return show_request(args, await wait_request(api, int(args.target), args.timeout))
    if not args.target.startswith("UPID:"):
        return show_batch(args, await wait_batch(api, args.target, args.timeout))
    return show_task(args, await wait_task(api, args.target, args.timeout), "")


def show_task(args: argparse.Namespace, task: dict[str, Any], description: str) -> int:
    """`EXITSTATUS UPID DESCRIPTION` of a task (RUNNING while it runs) and its exit code."""
    if args.json:
        emit_json(task)
    else:
        emit([formats.line(task.get("exitstatus") or "RUNNING", task.get("upid"), description)])
    if task.get("state") == "running":
        return PENDING
    return FAILED if task_failed(task) else DONE


def show_request(args: argparse.Namespace, request: dict[str, Any]) -> int:
    """`STATUS ID URL DESCRIPTION` of a request and its exit code; who decided and their comment on
    standard error, so the line stays as scripts read it."""
    if args.json:
        emit_json(request)
    else:
        emit([formats.line(request["status"], request["id"], request.get("url"), request.get("description"))])
    decided = request.get("decided") or {}
    if request["status"] in ("rejected", "cancelled") and decided:
        said = f": {decided['comment']}" if decided.get("comment") else ""
        print(f"proxgate: {request['status']} by {decided.get('by')}{said}", file=sys.stderr)
    return REQUEST_EXIT.get(request["status"], REFUSED)


async def cmd_operation(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Send an operation of the catalogue; follow its task or its request with --wait."""
    op: dict[str, Any] = args.operation
    if getattr(args, "at_node", None):
        await guest_on_node(api, args.vmid, args.at_node)
    body = {**body_of(args), **({"reason": args.reason} if args.reason else {})}
    path = action_path(op, vars(args))
    try:
        status, answer = await api.post(path, body)
    except ApiError as exc:
        # Asked again with --wait while the same request waits: wait on that one (a retried script's case).
        open_request = await same_open_request(api, op, args) if exc.status == 409 and args.wait else None
        if open_request is None:
            raise
        print(
            f"proxgate: request {open_request['id']} for the same change is open; waiting on it",
            file=sys.stderr,
        )
        return show_request(args, await wait_request(api, open_request["id"], args.timeout))
    for warning in answer.get("warnings") or []:
        print(f"warning: {warning}", file=sys.stderr)
    if status == 202 and "batch_id" in answer:
        # A node operation runs as a batch of guest operations, followed as a bulk action's batch is.
        return await follow(api, args, answer)
    if status == 202 and args.wait:
        return show_request(args, await wait_request(api, answer["request_id"], args.timeout))
    if status == 202:
        if args.json:
            emit_json(answer)
        else:
            emit([formats.line("pending", answer["request_id"], answer["url"], answer["description"])])
        return PENDING
    if args.wait and answer.get("upid"):
        return show_task(args, await wait_task(api, answer["upid"], args.timeout), answer["description"])
    if args.json:
        emit_json(answer)
    else:
        emit([formats.line("started", answer.get("upid") or "-", answer["description"])])
    return DONE


async def same_open_request(
    api: ProxgateApi, op: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any] | None:
    """The pending (or running) request for this operation on this guest, if there is one."""
    if not op.get("needs_approval") or op["target"] != "guest":
        return None
    page = await api.get("/api/v1/requests", status="pending,executing", vmid=args.vmid, limit=50)
    return next((r for r in page.get("items") or [] if r.get("operation") == op["name"]), None)


async def cmd_operations(api: ProxgateApi, args: argparse.Namespace) -> int:
    """`NAME RISK APPROVAL LABEL` of every operation Proxgate offers."""
    operations = await api.collect("/api/v1/operations")
    return listing(args, operations, formats.operation_lines(operations))


async def cmd_help(api: ProxgateApi, args: argparse.Namespace) -> int:
    """The commands and the exit codes (`proxgate ctl operations` lists the operations' commands)."""
    command_parser([]).print_help()
    return DONE


COMMANDS: dict[str, Command] = {
    "help": cmd_help,
    "status": cmd_status,
    "vms": cmd_vms,
    "list": cmd_vms,
    "lxc": cmd_lxc,
    "snapshots": cmd_snapshots,
    "tasks": cmd_tasks,
    "storage": cmd_storage,
    "ips": cmd_ips,
    "requests": cmd_requests,
    "request": cmd_request,
    "wait": cmd_wait,
    "operations": cmd_operations,
    "bulk": cmd_bulk,
    "batch": cmd_batch,
    "batch-stop": cmd_batch_stop,
    "bring-back": cmd_bring_back,
    "log": cmd_log,
    "alerts": cmd_alerts,
    "ack": cmd_ack,
}
