"""`proxgate ctl bulk`, `batch`, `batch-stop` and `bring-back`: one operation on many guests as a batch, read
and stopped through /api/v1/bulk; an emptied node's guests brought back. A batch prints `STATUS BATCH_ID URL`,
then with --wait (and `batch`) one line a guest: `STATUS VMID UPID MESSAGE`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.agents import formats
from app.agents.api import ApiError, ProxgateApi, path_segment
from app.agents.waiting import wait_batch, wait_request

DONE, FAILED, USAGE, PENDING, REFUSED = 0, 1, 2, 3, 4
# A request that ended without running its batch.
UNRUN = ("rejected", "cancelled", "expired")


def add_bulk_commands(command: Any, commands: Any) -> None:
    """The bulk commands (`command` makes a sub-command with the shared options)."""
    bulk = command(
        commands,
        "bulk",
        "one operation on many guests, a few at a time (a destructive one: one request for all)",
        ("bulk_operation", {"metavar": "OPERATION"}),
        ("vmids", {"metavar": "VMID", "type": int, "nargs": "+"}),
    )
    bulk.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an operation parameter (repeat it; VALUE as JSON when it reads as JSON: 60, true)",
    )
    bulk.add_argument("--stop-on-failure", action="store_true", help="skip the rest after a failure")
    bulk.add_argument("--concurrency", type=int, help="guests at once (Proxgate's setting by default)")
    back = command(
        commands,
        "bring-back",
        "migrate the guests an empty-node batch moved off NODE back to it, as a new batch",
        ("node", {"help": "the node that was emptied"}),
        ("from_batch", {"metavar": "BATCH_ID", "help": "the empty-node batch whose guests come back"}),
    )
    back.add_argument("--with-local-disks", action="store_true", help="copy running VMs' local disks")
    back.add_argument("--concurrency", type=int, help="guests at once (Proxgate's setting by default)")
    command(commands, "batch", "a batch: each guest's status, task and result", ("batch_id", {}))
    command(commands, "batch-stop", "skip the guests of a batch not started yet", ("batch_id", {}))


def parameters(pairs: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs as the operation's parameters; ApiError 422 naming a pair without '='."""
    found: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ApiError(422, f"--param takes NAME=VALUE, not '{pair}'.", "param")
        try:
            found[name] = json.loads(text)
        except ValueError:
            found[name] = text
    return found


def batch_lines(batch: dict[str, Any]) -> list[str]:
    """`STATUS BATCH_ID URL`, then `STATUS VMID UPID MESSAGE` a guest."""
    head = formats.line(batch["status"], batch["batch_id"], batch.get("url"))
    return [
        head,
        *(
            formats.line(i["status"], i["vmid"], i.get("upid") or "-", i.get("message"))
            for i in batch["items"]
        ),
    ]


def batch_exit(batch: dict[str, Any]) -> int:
    """Done when every guest succeeded; pending while it waits or runs; failed otherwise."""
    if batch["status"] in ("pending", "running"):
        return PENDING
    return DONE if all(i["status"] == "succeeded" for i in batch["items"]) else FAILED


def show_batch(args: argparse.Namespace, batch: dict[str, Any]) -> int:
    """The batch as lines (or JSON) and its exit code."""
    if args.json:
        print(json.dumps(batch, indent=2, ensure_ascii=False))
    else:
        for text in batch_lines(batch):
            print(text)
    return batch_exit(batch)


async def cmd_bulk(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Start the batch (or ask for it); with --wait, follow it (and the decision) to its end."""
    body: dict[str, Any] = {**parameters(args.params), "vmids": args.vmids}
    if args.reason:
        body["reason"] = args.reason
    if args.stop_on_failure:
        body["stop_on_failure"] = True
    if args.concurrency is not None:
        body["concurrency"] = args.concurrency
    _, started = await api.post_once(f"/api/v1/bulk/{path_segment(args.bulk_operation)}", body)
    return await follow(api, args, started)


async def cmd_bring_back(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Bring an emptied node's guests back as a batch; with --wait, follow it (and the decision) to its end."""
    body: dict[str, Any] = {"batch_id": args.from_batch}
    if args.reason:
        body["reason"] = args.reason
    if args.with_local_disks:
        body["with_local_disks"] = True
    if args.concurrency is not None:
        body["concurrency"] = args.concurrency
    _, started = await api.post(f"/api/v1/nodes/{path_segment(args.node)}/actions/bring-back", body)
    return await follow(api, args, started)


async def follow(api: ProxgateApi, args: argparse.Namespace, started: dict[str, Any]) -> int:
    """A started batch (a bulk action's, a node operation's): its line, or with --wait its end (and first,
    while it waits for approval, the request's decision)."""
    if started.get("request_id") is not None and started.get("status") == "pending":
        if not args.wait:
            print(
                formats.line("pending", started["request_id"], started["url"], f"batch {started['batch_id']}")
            )
            return PENDING
        request = await wait_request(api, int(started["request_id"]), args.timeout)
        if request["status"] in UNRUN:
            print(formats.line(request["status"], request["id"], request.get("url")))
            return REFUSED
    if args.wait:
        return show_batch(args, await wait_batch(api, started["batch_id"], args.timeout))
    print(formats.line(started["status"], started["batch_id"], started["url"]))
    return DONE


async def cmd_batch(api: ProxgateApi, args: argparse.Namespace) -> int:
    """One batch as it stands."""
    return show_batch(args, await api.get(f"/api/v1/bulk/{path_segment(args.batch_id)}"))


async def cmd_batch_stop(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Stop a batch; prints it as it stands then."""
    _, batch = await api.post(f"/api/v1/bulk/{path_segment(args.batch_id)}/stop")
    return show_batch(args, batch)
