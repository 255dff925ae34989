"""The MCP server's listing tools: one paged GET of /api/v1 each, with the API's filters, `limit` (1-500)
and `cursor` (the previous page's next_cursor), bounded to fit a model's context unless `limit` says otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.agents.answers import fitted, page_summary
from app.agents.api import ProxgateApi, path_segment
from app.agents.op_tools import preview_summary
from app.agents.read_tools import NOTES_SHOWN, ReadTool
from app.agents.schemas import (
    CURSOR,
    DEFAULT_LIMIT,
    GUEST_STATUS,
    NODE,
    PAGE,
    STORAGE,
    VMID,
    answer,
    limit,
)

PAGED = " Next page: the same arguments and cursor=next_cursor."
TEXT = {"type": "string", "maxLength": 200}
DAYS = {"type": "integer", "minimum": 0, "maximum": 36_500}


def listing(
    name: str,
    description: str,
    path: str,
    noun: str,
    properties: dict[str, Any],
    *,
    required: tuple[str, ...] = (),
    default: int = DEFAULT_LIMIT,
    defaults: dict[str, Any] | None = None,
    output: dict[str, Any] | None = None,
    brief: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    roles: frozenset[str] | None = None,
) -> ReadTool:
    """A tool for the list at `path` (its {placeholders} filled from the arguments of the same name; the other
    arguments over `defaults` are the query); `brief` shortens each item; `roles` as ReadTool's."""

    async def run(api: ProxgateApi, args: dict[str, Any]) -> Any:
        where = path.format(**{k: path_segment(v) for k, v in args.items()})
        given = {k: v for k, v in args.items() if "{" + k + "}" not in path and k != "limit"}
        query = {**(defaults or {}), **given}

        async def fetch(count: int) -> dict[str, Any]:
            page: dict[str, Any] = await api.get(where, **query, limit=count)
            if brief is not None:
                page["items"] = [brief(item) for item in page.get("items") or []]
            return page

        return await fitted(fetch, args.get("limit"), default)

    return ReadTool(
        name,
        description + PAGED,
        {**properties, "limit": limit(default), "cursor": CURSOR},
        required,
        run,
        output or PAGE,
        lambda answer: page_summary(name, noun, answer),
        roles=roles,
    )


def request_brief(request: dict[str, Any]) -> dict[str, Any]:
    """A request as a listing shows it: what, its state and who decided, and what it would lose; get_request
    has its parameters, whole preview and approvals."""
    kept = ("id", "status", "operation", "target", "description", "reason", "url", "expires_at", "result")
    decided = request.get("decided") or None
    return {
        **{key: request.get(key) for key in kept},
        "requested_at": (request.get("requested") or {}).get("at"),
        "decided": decided,
        **preview_summary(request.get("preview") or {}),
    }


LIST_TOOLS: tuple[ReadTool, ...] = (
    listing(
        "list_guests",
        "VMs and containers by VMID; q finds a VMID or its start, part of a name, a tag or an IP. VM templates "
        "(to clone) are the guests with template yes.",
        "/api/v1/guests",
        "guests",
        {
            "q": TEXT,
            "node": NODE,
            "type": {"type": "string", "enum": ["qemu", "lxc"]},
            "status": GUEST_STATUS,
            "tag": {"type": "string", "maxLength": 128},
            "template": {"type": "string", "enum": ["yes", "no"]},
        },
    ),
    listing(
        "list_snapshots",
        "A guest's snapshots as Proxmox lists them (name, description, time, parent), 'current' included.",
        "/api/v1/guests/{vmid}/snapshots",
        "snapshots",
        {"vmid": VMID},
        required=("vmid",),
    ),
    listing(
        "list_backups",
        "Backups on every storage, newest first; by guest, storage, age in days, or only each guest's newest.",
        "/api/v1/backups",
        "backups",
        {
            "guest": VMID,
            "storage": STORAGE,
            "older_than": DAYS,
            "newer_than": DAYS,
            "newest": {"type": "boolean", "default": False},
        },
        default=40,
        output=answer("items", "total", "next_cursor", "problems"),
    ),
    listing(
        "list_unbacked_guests",
        "Guests that no backup job covers, as Proxmox lists them.",
        "/api/v1/backups/not-backed-up",
        "guests without a backup job",
        {},
    ),
    listing(
        "list_storage",
        "Storages: type, content types, used and total bytes, percent; with node, those that node sees.",
        "/api/v1/storage",
        "storages",
        {"node": NODE},
    ),
    listing(
        "list_storage_content",
        "What one storage holds on a node: iso (install images for create_vm), vztmpl (container templates "
        "for create_ct), backup, images and rootdir (disks). Volume ids (local:iso/x.iso) are what "
        "create_vm's iso and create_ct's ostemplate take.",
        "/api/v1/storage/{node}/{storage}/content",
        "volumes",
        {
            "node": NODE,
            "storage": STORAGE,
            "content": {
                "type": "string",
                "enum": ["iso", "vztmpl", "backup", "images", "rootdir", "snippets"],
            },
        },
        required=("node", "storage"),
    ),
    listing(
        "list_tasks",
        "Recent Proxmox tasks, newest first; by node, guest, type (qmstart, vzdump, ...) and state.",
        "/api/v1/tasks",
        "tasks",
        {
            "node": NODE,
            "guest": VMID,
            "type": {"type": "string", "maxLength": 64},
            "status": {"type": "string", "enum": ["running", "ok", "warning", "error"]},
        },
    ),
    listing(
        "list_ips",
        "Every address Proxmox knows (configs, guest agents, containers) with its guest, by prefix (10.0.10.21, "
        "10.0. or 10.0.10.0/24), guest, node and status, and notes on what it cannot see about them. Never "
        "guess an address: look here. complete=false: guests are still being read (progress says how far): "
        "ask again shortly.",
        "/api/v1/ips",
        "addresses",
        {
            "prefix": {"type": "string", "maxLength": 64},
            "vmid": VMID,
            "node": NODE,
            "status": GUEST_STATUS,
            "notes_limit": {"type": "integer", "minimum": 0, "maximum": 500, "default": NOTES_SHOWN},
        },
        default=40,
        defaults={"notes_limit": NOTES_SHOWN},
        output=answer("items", "total", "next_cursor", "notes", "notes_total", "unknown_guests", "complete"),
    ),
    listing(
        "list_my_requests",
        "The approval requests this agent made, newest first; by status (pending, succeeded, rejected, ...).",
        "/api/v1/requests",
        "requests",
        {"status": {"type": "string", "maxLength": 120, "description": "Comma-separated"}},
        default=10,
        defaults={"mine": True},
        brief=request_brief,
    ),
    listing(
        "list_audit",
        "The audit log, newest first: who did what to which guest, from where, and how it ended; by actor, "
        "vmid, operation, risk, outcome, since and until (ISO 8601, UTC) and q (text).",
        "/api/v1/audit",
        "events",
        {
            "actor": {"type": "string", "maxLength": 64},
            "vmid": VMID,
            "operation": {"type": "string", "maxLength": 32},
            "risk": {"type": "string", "enum": ["read-only", "reversible", "destructive", "admin"]},
            "outcome": {"type": "string", "maxLength": 32},
            "since": {"type": "string", "maxLength": 40},
            "until": {"type": "string", "maxLength": 40},
            "q": TEXT,
        },
        default=20,
    ),
)
