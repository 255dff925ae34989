"""`proxgate ctl log`, `alerts` and `ack`: a node's system log as journalctl prints it, and the side-door alerts
(destructive changes made in Proxmox directly) listed and acknowledged, through /api/v1."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.agents import formats
from app.agents.api import MAX_PAGES, PAGE_LIMIT, ProxgateApi, path_segment

DONE = 0
# Lines `log` prints unless -n says; and at most.
LOG_LINES, LOG_MOST = 50, 10_000


def line_count(text: str) -> int:
    """-n's value: a whole number of lines, 1 to LOG_MOST (argparse names a bad one)."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of lines: {text!r}") from None
    if not 1 <= count <= LOG_MOST:
        raise argparse.ArgumentTypeError(f"between 1 and {LOG_MOST} lines, not {count}")
    return count


def add_watch_commands(command: Any, commands: Any) -> None:
    """The log and alert commands (`command` makes a sub-command with the shared options)."""
    log = command(commands, "log", "a node's system log, the last lines oldest first", ("node", {}))
    log.add_argument(
        "-n", "--lines", type=line_count, default=LOG_LINES, help=f"how many lines ({LOG_LINES})"
    )
    log.add_argument("--service", help="only this service (pvedaemon, sshd, ...)")
    log.add_argument("--grep", help="only lines holding this text (any case)")
    log.add_argument("--since", help="from this time on (ISO 8601 or epoch seconds)")
    log.add_argument("--until", help="up to this time (ISO 8601 or epoch seconds)")
    alerts = command(commands, "alerts", "side-door alerts, newest first (approver or admin)")
    alerts.add_argument(
        "--state", choices=["open", "acknowledged", "all"], default="open", help="which alerts (open)"
    )
    command(
        commands,
        "ack",
        "acknowledge a side-door alert with a comment (approver or admin; audited)",
        ("alert_id", {"metavar": "ID", "type": int}),
        ("comment", {"metavar": "COMMENT", "help": "what was done about it"}),
    )


async def last_log_lines(
    api: ProxgateApi, node: str, count: int, query: dict[str, Any]
) -> list[dict[str, Any]]:
    """The node's `count` newest log entries that match, newest first, read a page at a time (a filtered page
    may hold fewer than asked and still have older ones)."""
    found: list[dict[str, Any]] = []
    params = {k: v for k, v in query.items() if v is not None}
    for _ in range(MAX_PAGES):
        wanted = min(PAGE_LIMIT, count - len(found))
        page = await api.get(f"/api/v1/nodes/{path_segment(node)}/log", **params, limit=wanted)
        found += list(page.get("items") or [])
        if len(found) >= count or not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    return found[:count]


async def cmd_log(api: ProxgateApi, args: argparse.Namespace) -> int:
    """The last lines of a node's log, oldest first as journalctl -n prints them."""
    query = {"service": args.service, "q": args.grep, "since": args.since, "until": args.until}
    entries = (await last_log_lines(api, args.node, args.lines, query))[::-1]
    return emit(args, entries, [formats.field(e.get("text")) for e in entries])


async def cmd_alerts(api: ProxgateApi, args: argparse.Namespace) -> int:
    """`ID CREATED_AT VMID MESSAGE ACKNOWLEDGED_BY COMMENT` of every alert in the state asked, newest first."""
    alerts = await api.collect("/api/v1/side-doors/alerts", state=args.state)
    return emit(args, alerts, formats.alert_lines(alerts))


async def cmd_ack(api: ProxgateApi, args: argparse.Namespace) -> int:
    """Acknowledge an alert; its line as `alerts` prints it."""
    _, alert = await api.post(
        f"/api/v1/side-doors/alerts/{args.alert_id}/acknowledge", {"comment": args.comment}
    )
    return emit(args, alert, formats.alert_lines([alert]))


def emit(args: argparse.Namespace, value: Any, lines: list[str]) -> int:
    """The API's JSON with --json, else the lines; done."""
    if args.json:
        print(json.dumps(value, indent=2, ensure_ascii=False))
    else:
        for text in lines:
            print(text)
    return DONE
