"""The MCP server's change tools: one per operation of GET /api/v1/operations, sent to the same gate as a
person's click. A reversible one runs at once; one that needs approval becomes a request a human decides."""

from __future__ import annotations

from typing import Any

from app.agents.api import ProxgateApi
from app.agents.read_tools import VMID, WAIT
from app.agents.waiting import DEFAULT_WAIT, task_failed, wait_request, wait_task

# Arguments the tool adds to the operation's own parameters; they are not sent as parameters.
LOCAL_ARGS = ("vmid", "wait", "wait_seconds")
LOG_TAIL = 20


def tool_schema(op: dict[str, Any]) -> dict[str, Any]:
    """The operation's parameter schema, plus vmid (guest operations), reason, wait and wait_seconds."""
    params: dict[str, Any] = op.get("parameters") or {}
    properties: dict[str, Any] = {"vmid": VMID} if op["target"] == "guest" else {}
    properties.update(params.get("properties") or {})
    properties["reason"] = {
        "type": "string",
        "maxLength": 2000,
        "description": "Why: the approver reads it (required when the operation needs approval)",
    }
    properties["wait"] = {
        "type": "boolean",
        "default": False,
        "description": "Wait for the task's end (or for the human decision and the run) before answering",
    }
    properties["wait_seconds"] = WAIT
    required = ["vmid"] if op["target"] == "guest" else []
    required += list(params.get("required") or [])
    if op.get("needs_approval"):
        required.append("reason")
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    if params.get("$defs"):
        schema["$defs"] = params["$defs"]
    return schema


def two_person(catalogue: list[dict[str, Any]]) -> str:
    """The sentence that names the operations a second person must approve, as the catalogue says today."""
    held = [op["name"] for op in catalogue if op.get("needs_approval")]
    if not held:
        return ""
    return f"These wait for a second person's approval instead of running at once: {', '.join(held)}."


def tool_description(op: dict[str, Any], catalogue: list[dict[str, Any]] | None = None) -> str:
    """What the model reads: what it does, its risk class, and who has to agree."""
    parts = [f"{op['label']} (Proxgate operation '{op['name']}'). Risk class: {op['risk']}."]
    if op.get("about"):
        parts.append(op["about"])
    if op.get("needs_approval"):
        parts.append(
            "Needs approval: Proxgate stores it as a request that a second person (an approver) must "
            "approve before anything runs. You get status 'pending', the request_id and the link a human "
            "opens; give a clear `reason`, then call wait_request (or pass wait=true)."
        )
    else:
        parts.append(
            "Runs at once and returns the task's UPID; wait=true waits for the task's end and exit status."
        )
        parts.append(two_person(catalogue or [op]))
    if op.get("confirm"):
        parts.append(f"Warning: {op['confirm']}")
    if op["target"] == "guest" and len(op.get("guest_types") or []) == 1:
        parts.append("Only for " + ("VMs." if op["guest_types"] == ["qemu"] else "containers."))
    return " ".join(p for p in parts if p)


async def run_operation(api: ProxgateApi, op: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Send the operation through Proxgate's gate; wait for the task or the decision when asked."""
    body = {k: v for k, v in args.items() if k not in LOCAL_ARGS}
    name = op["name"]
    path = (
        f"/api/v1/guests/{int(args['vmid'])}/actions/{name}"
        if op["target"] == "guest"
        else f"/api/v1/actions/{name}"
    )
    status, answer = await api.post(path, body)
    wait, seconds = bool(args.get("wait")), float(args.get("wait_seconds", DEFAULT_WAIT))
    if status == 202:
        return await _requested(api, answer, wait, seconds)
    return await _started(api, answer, wait, seconds)


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
    result = {
        **answer,
        "message": (
            f"Nothing has changed yet. A second person must approve request {rid} at {answer.get('url')}; "
            f"call wait_request with request_id {rid} to wait for the decision."
        ),
    }
    if not wait:
        return result
    request = await wait_request(api, rid, seconds)
    return {"status": request.get("status"), "request_id": rid, "url": answer.get("url"), "request": request}
