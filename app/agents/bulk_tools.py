"""The MCP server's bulk tools: one operation on many guests as a batch (run_bulk), and the batch read, waited
for and stopped (get_batch, wait_batch, stop_batch); each a call of /api/v1/bulk."""

from __future__ import annotations

from typing import Any

from app.agents.api import ProxgateApi, path_segment
from app.agents.read_tools import ReadTool
from app.agents.schemas import NODE, VMID, WAIT, answer
from app.agents.tool_names import tool_name
from app.agents.waiting import DEFAULT_WAIT, batch_state, wait_batch, wait_request

# What /api/v1/bulk offers (it refuses any other operation, naming the field).
BULK_OPERATIONS = (
    "start, shutdown, stop, reboot, snapshot, backup, migrate, tag (parameters "
    '{"add": ["prod"], "remove": ["old"]}: each guest\'s own tags change, as configure); and, as ONE request a '
    "person approves, "
    "rollback, delete-snapshot, delete"
)
BATCH_ID = {"type": "string", "maxLength": 16, "description": "A batch id from run_bulk"}
BATCH = answer("batch_id", "status", "items")
RUN_BULK_PROPERTIES: dict[str, Any] = {
    "operation": {"type": "string", "maxLength": 32, "description": f"One of: {BULK_OPERATIONS}"},
    "vmids": {"type": "array", "items": VMID, "minItems": 1, "maxItems": 1000},
    "reason": {"type": "string", "maxLength": 2000},
    "parameters": {
        "type": "object",
        "description": 'The operation\'s parameters, as its own tool takes them (e.g. {"snapname": "pre"})',
    },
    "stop_on_failure": {"type": "boolean", "default": False, "description": "skip the rest after a failure"},
    "concurrency": {"type": "integer", "minimum": 1, "maximum": 32, "description": "guests at once (4)"},
    "wait": {"type": "boolean", "default": False, "description": "wait until every guest's part ended"},
    "wait_seconds": WAIT,
}

BRING_BACK_PROPERTIES: dict[str, Any] = {
    "node": NODE,
    "batch_id": {**BATCH_ID, "description": "The empty-node batch (of this node) whose guests come back"},
    "reason": {"type": "string", "maxLength": 2000},
    "with_local_disks": {"type": "boolean", "default": False, "description": "copy running VMs' local disks"},
    "concurrency": RUN_BULK_PROPERTIES["concurrency"],
    "wait": RUN_BULK_PROPERTIES["wait"],
    "wait_seconds": WAIT,
}


async def run_bulk(api: ProxgateApi, args: dict[str, Any]) -> dict[str, Any]:
    """POST /api/v1/bulk/{operation}; with wait, the batch (or the request's decision and then the batch)."""
    body: dict[str, Any] = {**(args.get("parameters") or {}), "vmids": args["vmids"]}
    for key in ("reason", "stop_on_failure", "concurrency"):
        if key in args:
            body[key] = args[key]
    _, started = await api.post_once(f"/api/v1/bulk/{path_segment(args['operation'])}", body)
    wait, seconds = bool(args.get("wait")), float(args.get("wait_seconds", DEFAULT_WAIT))
    return await follow_batch(api, started, wait, seconds)


async def follow_batch(
    api: ProxgateApi, started: dict[str, Any], wait: bool, seconds: float
) -> dict[str, Any]:
    """A started batch (a bulk action's, a node operation's) as it stands, or with wait its end (or, while it
    waits for approval, the request's decision first)."""
    if started.get("request_id") is not None and started.get("status") == "pending":
        rid = int(started["request_id"])
        if not wait:
            return {
                **started,
                "message": (
                    f"Nothing has changed yet. A second person must approve request {rid} at {started['url']} "
                    f"for every guest at once; then batch {started['batch_id']} runs. Call wait_request, then "
                    "wait_batch."
                ),
            }
        request = await wait_request(api, rid, seconds)
        if request.get("status") not in ("executing", "succeeded", "failed"):
            return {**started, "status": request.get("status"), "request": request}
    if not wait:
        return await api.get(f"/api/v1/bulk/{path_segment(started['batch_id'])}")
    return await wait_batch(api, started["batch_id"], seconds)


async def bring_back(api: ProxgateApi, args: dict[str, Any]) -> dict[str, Any]:
    """POST /api/v1/nodes/{node}/actions/bring-back; with wait, the batch's end (or the decision first)."""
    body: dict[str, Any] = {
        k: args[k] for k in ("batch_id", "reason", "with_local_disks", "concurrency") if k in args
    }
    _, started = await api.post(f"/api/v1/nodes/{path_segment(args['node'])}/actions/bring-back", body)
    wait, seconds = bool(args.get("wait")), float(args.get("wait_seconds", DEFAULT_WAIT))
    return await follow_batch(api, started, wait, seconds)


async def _get_batch(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await api.get(f"/api/v1/bulk/{path_segment(args['batch_id'])}")


async def _wait_batch(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return await wait_batch(api, str(args["batch_id"]), float(args.get("wait_seconds", DEFAULT_WAIT)))


async def _stop_batch(api: ProxgateApi, args: dict[str, Any]) -> Any:
    return (await api.post(f"/api/v1/bulk/{path_segment(args['batch_id'])}/stop"))[1]


def batch_line(batch: dict[str, Any]) -> str:
    """How a batch stands, and its failures in short."""
    if "items" not in batch:
        return str(batch.get("message") or f"{batch.get('status')}: {batch.get('url')}")
    failed = [f"{i['vmid']}: {i['message']}" for i in batch["items"] if i.get("status") == "failed"]
    return batch_state(batch) + (f" Failed: {'; '.join(failed[:10])}." if failed else "")


BULK_TOOLS: tuple[ReadTool, ...] = (
    ReadTool(
        "run_bulk",
        "Run one operation on many guests as one batch, a few at a time (each guest through the same checks "
        "and audit as its own tool). A destructive operation becomes ONE request a person approves for every "
        "guest at once (answers pending with request_id). Answers the batch: each guest's status, task and "
        "message; wait=true waits until every guest's part ended.",
        RUN_BULK_PROPERTIES,
        ("operation", "vmids", "reason"),
        run_bulk,
        answer("status"),
        batch_line,
        read_only=False,
        destructive=True,
    ),
    ReadTool(
        tool_name("bring-back"),
        "Bring back the guests an empty-node batch (batch_id, from empty_node) moved off the node: each migrates "
        "home again, as a new batch of migrations with the same checks, audit and approval rule as empty_node. "
        "Answers the batch; wait=true waits until every guest's part ended.",
        BRING_BACK_PROPERTIES,
        ("node", "batch_id"),
        bring_back,
        answer("status"),
        batch_line,
        read_only=False,
    ),
    ReadTool(
        "get_batch",
        "A batch: its status (pending, running, done, stopped) and each guest's status, task and message.",
        {"batch_id": BATCH_ID},
        ("batch_id",),
        _get_batch,
        BATCH,
        batch_line,
    ),
    ReadTool(
        "wait_batch",
        "Wait until every guest's part of a batch ended (or it was stopped); answers as get_batch.",
        {"batch_id": BATCH_ID, "wait_seconds": WAIT},
        ("batch_id",),
        _wait_batch,
        BATCH,
        batch_line,
    ),
    ReadTool(
        "stop_batch",
        "Stop a running batch: the guests not started yet are skipped, the running ones finish.",
        {"batch_id": BATCH_ID},
        ("batch_id",),
        _stop_batch,
        BATCH,
        batch_line,
        read_only=False,
    ),
)
