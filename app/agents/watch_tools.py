"""The MCP server's tools for what happens on the cluster beyond Proxgate's own changes: a node's system log
(read_node_log), and the side-door alerts (destructive changes made in Proxmox directly) that approvers and
admins list and acknowledge with a comment."""

from __future__ import annotations

from typing import Any

from app.agents.answers import fitted
from app.agents.api import ProxgateApi, path_segment
from app.agents.list_tools import PAGED, TEXT, listing
from app.agents.read_tools import ReadTool
from app.agents.schemas import NODE, TEXT_OR_NULL, answer, limit

# The side-door alerts are for the roles that approve (the API refuses the others).
DECIDING_ROLES = frozenset({"approver", "admin"})
# Log lines a call answers unless asked for more; a line longer than LINE_MOST is cut (a kernel's stack dump).
LOG_DEFAULT, LINE_MOST = 100, 400
# The log's cursor carries a journal cursor, longer than a listing's.
LOG_CURSOR = {"type": "string", "maxLength": 600}
WHEN = {"type": "string", "maxLength": 40, "description": "ISO 8601 (UTC unless it says) or epoch seconds"}
ALERT = answer("id", "message", "acknowledged_by", "comment")


def log_row(entry: dict[str, Any]) -> str:
    """One log line in short: 'Dec 06 12:00:01 sshd[4242]: Accepted ...' (the host is the node asked)."""
    if entry.get("stamp"):
        pid = f"[{entry['pid']}]" if entry.get("pid") is not None else ""
        text = f"{entry['stamp']} {entry.get('service')}{pid}: {entry.get('message')}"
    else:
        text = str(entry.get("text") or "")
    return text if len(text) <= LINE_MOST else text[: LINE_MOST - 1] + "…"


async def read_node_log(api: ProxgateApi, args: dict[str, Any]) -> dict[str, Any]:
    """GET /api/v1/nodes/{node}/log, each entry as a line, fitted to a context."""
    node = str(args["node"])
    query = {k: args[k] for k in ("q", "service", "since", "until", "cursor") if k in args}

    async def fetch(count: int) -> dict[str, Any]:
        page = await api.get(f"/api/v1/nodes/{path_segment(node)}/log", **query, limit=count)
        return {
            "node": node,
            "items": [log_row(entry) for entry in page.get("items") or []],
            "next_cursor": page.get("next_cursor"),
            "source": page.get("source"),
            "scanned": page.get("scanned"),
        }

    return await fitted(fetch, args.get("limit"), LOG_DEFAULT)


def log_line(page: dict[str, Any]) -> str:
    """'100 lines of pve1's journal, newest first (read 500).' and how to read older ones."""
    text = (
        f"{len(page.get('items') or [])} lines of {page.get('node')}'s {page.get('source')}, newest first "
        f"(read {page.get('scanned')})."
    )
    if page.get("next_cursor"):
        text += f' Older: call read_node_log with the same arguments and cursor="{page["next_cursor"]}".'
    return text


async def acknowledge_alert(api: ProxgateApi, args: dict[str, Any]) -> Any:
    """POST /api/v1/side-doors/alerts/{id}/acknowledge with the comment."""
    path = f"/api/v1/side-doors/alerts/{int(args['alert_id'])}/acknowledge"
    return (await api.post(path, {"comment": args["comment"]}))[1]


WATCH_TOOLS: tuple[ReadTool, ...] = (
    ReadTool(
        "read_node_log",
        "A node's system log (its journal), newest first, one short line an entry; q (text, any case), service "
        "(pvedaemon, sshd, ...), since and until. Proxmox refuses it unless Proxgate's token has Sys.Syslog on "
        "the node." + PAGED,
        {
            "node": NODE,
            "q": TEXT,
            "service": {"type": "string", "maxLength": 128},
            "since": WHEN,
            "until": WHEN,
            "limit": limit(LOG_DEFAULT),
            "cursor": LOG_CURSOR,
        },
        ("node",),
        read_node_log,
        answer("node", "items", "next_cursor", items="array", next_cursor=TEXT_OR_NULL),
        log_line,
    ),
    listing(
        "list_side_door_alerts",
        "Destructive changes made in Proxmox directly, without Proxgate's approval (a guest deleted, rolled "
        "back), newest first: open ones until an approver acknowledges them, or acknowledged, or all.",
        "/api/v1/side-doors/alerts",
        "alerts",
        {"state": {"type": "string", "enum": ["open", "acknowledged", "all"], "default": "open"}},
        default=20,
        roles=DECIDING_ROLES,
    ),
    ReadTool(
        "acknowledge_side_door_alert",
        "Acknowledge a side-door alert (alert_id from list_side_door_alerts) with a comment saying what was "
        "done about it; recorded in the audit log. Refused when someone acknowledged it already.",
        {
            "alert_id": {"type": "integer", "minimum": 1},
            "comment": {"type": "string", "minLength": 1, "maxLength": 2000},
        },
        ("alert_id", "comment"),
        acknowledge_alert,
        ALERT,
        lambda a: (
            f"Alert {a.get('id')} acknowledged by {a.get('acknowledged_by')}: {str(a.get('comment'))[:200]}"
        ),
        read_only=False,
        roles=DECIDING_ROLES,
    ),
)
