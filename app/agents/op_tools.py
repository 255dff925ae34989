"""The MCP server's change tools: one per operation of GET /api/v1/operations, sent to the same gate as a
person's click. A reversible one runs at once; one that needs approval becomes a request a human decides."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from app.agents.api import ProxgateApi
from app.agents.bulk_tools import follow_batch
from app.agents.schemas import NODE, VMID, WAIT
from app.agents.waiting import DEFAULT_WAIT, task_failed, wait_request, wait_task

# Arguments the tool adds to the operation's own parameters; they are not sent as parameters (a guest's vmid
# goes in the path; a new guest's vmid, of create_vm and the like, is a parameter).
LOCAL_ARGS = ("wait", "wait_seconds")
LOG_TAIL = 20
# Lines of a request's preview (what would be lost, notes) an answer carries.
PREVIEW_LINES = 20


# What every change tool takes besides the operation's parameters; the descriptions say what they are for.
REASON = {"type": "string", "maxLength": 2000}
WAIT_FLAG = {"type": "boolean", "default": False}
# Left out of the tools' schemas: pydantic's titles (the tool names the operation) and the checks of a text's
# form and length (the API refuses such a value in words the model can act on); each costs tokens in every
# tools/list. Numeric ranges stay: they tell a model what it may ask for.
DROPPED = ("title", "pattern", "maxLength", "minLength")


def plain(schema: Any) -> Any:
    """The schema without DROPPED keys, and an optional value (anyOf [X, null], default null) as X alone: a
    model leaves out what it does not mean to set."""
    if isinstance(schema, list):
        return [plain(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    options = schema.get("anyOf")
    if isinstance(options, list) and schema.get("default", 0) is None:
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1 and len(options) == 2:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return plain({**kept[0], **rest})
    return {
        key: {name: plain(v) for name, v in value.items()}
        if key in ("properties", "patternProperties", "$defs")
        else plain(value)
        for key, value in schema.items()
        if key not in DROPPED
    }


def path_args(op: dict[str, Any]) -> dict[str, Any]:
    """What the tool puts in the path rather than the body: a guest's vmid, a node operation's node."""
    return {"guest": {"vmid": VMID}, "node": {"node": NODE}}.get(op["target"], {})


def tool_schema(op: dict[str, Any]) -> dict[str, Any]:
    """The operation's parameter schema, plus vmid (guest operations) or node (node operations), reason, wait
    and wait_seconds."""
    params: dict[str, Any] = plain(op.get("parameters") or {})
    properties: dict[str, Any] = dict(path_args(op))
    properties.update(params.get("properties") or {})
    properties.update(reason=REASON, wait=WAIT_FLAG, wait_seconds=WAIT)
    required = list(path_args(op))
    required += list(params.get("required") or [])
    if op.get("needs_approval"):
        required.append("reason")
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    if params.get("$defs"):
        schema["$defs"] = params["$defs"]
    if params.get("patternProperties"):
        # Indexed keys (a config's net0, net1, ...): the operation takes any of them.
        schema["patternProperties"] = params["patternProperties"]
    return schema


def own_schema(op: dict[str, Any]) -> dict[str, Any]:
    """The schema of the arguments the tool itself uses (the guest's vmid, wait, wait_seconds): the MCP server
    checks these; the operation's parameters and reason it leaves to the API, which records a refusal of them
    in the audit log as it does a person's."""
    properties: dict[str, Any] = {"wait": WAIT_FLAG, "wait_seconds": WAIT, **path_args(op)}
    return {"type": "object", "properties": properties, "required": list(path_args(op))}


def tool_description(op: dict[str, Any]) -> str:
    """What the model reads: what it does, its risk class, and whether a second person has to agree."""
    parts = [f"{op['label']}. Risk: {op['risk']}."]
    if op.get("about"):
        parts.append(op["about"])
    if op.get("needs_approval"):
        parts.append(
            "Needs approval: answers pending, with a request_id and a link for a human; nothing runs until a "
            "second person approves. Give a clear reason; then wait_request."
        )
    else:
        parts.append("Runs at once (wait=true: until the task ends).")
    if op.get("confirm"):
        parts.append(f"Warning: {op['confirm']}")
    if op["target"] == "guest" and len(op.get("guest_types") or []) == 1:
        parts.append("Only for " + ("VMs." if op["guest_types"] == ["qemu"] else "containers."))
    return " ".join(parts)


async def run_operation(api: ProxgateApi, op: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Send the operation through Proxgate's gate; wait for the task or the decision when asked."""
    local = (*LOCAL_ARGS, *path_args(op))
    body = {k: v for k, v in args.items() if k not in local}
    status, answer = await api.post(action_path(op, args), body)
    wait, seconds = bool(args.get("wait")), float(args.get("wait_seconds", DEFAULT_WAIT))
    if status == 202 and "batch_id" in answer:
        # A node operation runs as a batch of guest operations, followed as a bulk action's batch is.
        return await follow_batch(api, answer, wait, seconds)
    if status == 202:
        return await _requested(api, answer, wait, seconds)
    return await _started(api, answer, wait, seconds)


def action_path(op: dict[str, Any], args: dict[str, Any]) -> str:
    """Where the operation is sent: under its guest, its node, or the cluster."""
    name = op["name"]
    if op["target"] == "guest":
        return f"/api/v1/guests/{int(args['vmid'])}/actions/{name}"
    if op["target"] == "node":
        return f"/api/v1/nodes/{quote(str(args['node']), safe='')}/actions/{name}"
    return f"/api/v1/actions/{name}"


async def _started(api: ProxgateApi, answer: dict[str, Any], wait: bool, seconds: float) -> dict[str, Any]:
    result = {"status": "started" if answer.get("upid") else "succeeded", **answer}
    if not (wait and answer.get("upid")):
        return result
    task = await wait_task(api, answer["upid"], seconds)
    result["status"] = (
        "running" if task.get("state") == "running" else "failed" if task_failed(task) else "succeeded"
    )
    result["task"] = {
        "status": task.get("status"),
        "exitstatus": task.get("exitstatus"),
        "state": task.get("state"),
        "log_tail": list(task.get("log") or [])[-LOG_TAIL:],
    }
    return result


async def _requested(api: ProxgateApi, answer: dict[str, Any], wait: bool, seconds: float) -> dict[str, Any]:
    rid = int(answer["request_id"])
    if wait:
        request = await wait_request(api, rid, seconds)
        return {
            "status": request.get("status"),
            "request_id": rid,
            "url": answer.get("url"),
            "request": request,
        }
    preview = preview_summary((await api.get(f"/api/v1/requests/{rid}")).get("preview") or {})
    lost = "; ".join(preview["would_lose"])
    return {
        **answer,
        **preview,
        "message": (
            f"Nothing has changed yet. A second person must approve request {rid} at {answer.get('url')}; "
            f"call wait_request with request_id {rid} to wait for the decision."
            + (f" Once approved, this is lost: {lost}." if lost else "")
        ),
    }


def preview_summary(preview: dict[str, Any]) -> dict[str, Any]:
    """What the approver reads about a change, in short: what would be lost and the notes beside it."""
    losses, notes = list(preview.get("losses") or []), list(preview.get("notes") or [])
    summary: dict[str, Any] = {"would_lose": losses[:PREVIEW_LINES], "notes": notes[:PREVIEW_LINES]}
    if len(losses) > PREVIEW_LINES:
        summary["would_lose_total"] = len(losses)
    return summary
