"""`proxgate ctl`'s commands: the listings, and one command per operation of GET /api/v1/operations.

An operation's command takes the guest's VMID first (guest operations), then its required parameters in the
order of its schema (`rollback VMID SNAPNAME`, `resize VMID DISK SIZE`), and every other parameter as an option
(`--purge`, `--no-full`, `--target pve2`); a parameter named like one of ctl's own options is
`--param-NAME` (`shutdown 100 --param-timeout 60`). Nothing about the operations is written here: a new one in
the catalogue is a new command at once.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.agents.ctl_bulk import add_bulk_commands
from app.agents.ctl_watch import add_watch_commands

EXIT_CODES = (
    "exit codes: 0 done, 1 failed (the task or the approved change failed, or Proxgate could not be reached), "
    "2 usage, 3 pending (waiting for a person's approval, or still running when --timeout ran out), "
    "4 refused (by Proxgate: role, no such guest or node, invalid value, or the request was rejected, "
    "cancelled or expired)"
)
# A guest command's last argument, as the helper took it: checked against where the guest is.
AT_NODE: dict[str, Any] = {
    "metavar": "NODE",
    "nargs": "?",
    "help": "the guest's node, as the helper takes it (refused when the guest is elsewhere)",
}
# ctl's own options; a parameter of the same name gets --param-NAME.
OWN_OPTIONS = frozenset({"json", "wait", "reason", "timeout", "help"})
# The listing and request commands (no operation of the catalogue needed to parse them).
READS = (
    "help",
    "status",
    "vms",
    "list",
    "lxc",
    "snapshots",
    "tasks",
    "storage",
    "ips",
    "requests",
    "request",
    "wait",
    "operations",
    "bulk",
    "batch",
    "batch-stop",
    "bring-back",
    "log",
    "alerts",
    "ack",
)


@dataclass(frozen=True)
class Shortcut:
    """A command of the pve.sh helper that is an operation with one optional parameter given in place."""

    operation: str
    parameter: str
    default: Callable[[], str]
    help: str


def snapshot_name() -> str:
    """The helper's default name, snap-YYYYmmdd-HHMMSS in the local time of the machine that runs ctl, as
    the helper's `date` gave it."""
    return datetime.now().astimezone().strftime("snap-%Y%m%d-%H%M%S")


TAKE_SNAPSHOT = Shortcut(
    "snapshot",
    "snapname",
    snapshot_name,
    "take a snapshot (named snap-YYYYmmdd-HHMMSS, local time, by default)",
)
# The helper's `snap` and `snapshot` both take a snapshot, its name optional.
SHORTCUTS = {"snap": TAKE_SNAPSHOT, "snapshot": TAKE_SNAPSHOT}


def options(parser: argparse.ArgumentParser, default: Any) -> None:
    """--json, --wait, --reason, --timeout: before or after the command."""
    parser.add_argument("--json", action="store_true", default=default, help="print the API's JSON")
    parser.add_argument(
        "--wait",
        action="store_true",
        default=default,
        help="wait for the task, or for the decision and the run",
    )
    parser.add_argument("--reason", default=default, help="why (required for changes that need approval)")
    parser.add_argument("--timeout", type=float, default=default, help="seconds --wait and `wait` wait (300)")


def command_parser(operations: list[dict[str, Any]]) -> argparse.ArgumentParser:
    """The parser of one ctl command: the listings, and a command for each of these operations."""
    parser = argparse.ArgumentParser(prog="proxgate ctl", epilog=EXIT_CODES)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_reads(commands)
    for op in operations:
        if op["name"] not in SHORTCUTS:
            add_operation(commands, op, op["name"])
    known = {op["name"]: op for op in operations}
    for name, shortcut in SHORTCUTS.items():
        if shortcut.operation in known:
            add_operation(commands, known[shortcut.operation], name, shortcut)
    return parser


def command(commands: Any, name: str, help_text: str, *args: tuple[str, dict[str, Any]], **kw: Any) -> Any:
    """A sub-command with positional arguments and the shared options."""
    parser = commands.add_parser(name, help=help_text, epilog=EXIT_CODES, **kw)
    for dest, kwargs in args:
        parser.add_argument(dest, **kwargs)
    options(parser, argparse.SUPPRESS)
    return parser


def add_reads(commands: Any) -> None:
    """The listing and request commands."""
    vmid: dict[str, Any] = {"type": int}
    command(commands, "help", "these commands and the exit codes")
    command(commands, "status", "the nodes' status, CPU and memory")
    command(commands, "vms", "every VM and container, or one node's VMs", ("node", {"nargs": "?"}))
    command(commands, "list", "the same as vms", ("node", {"nargs": "?"}))
    command(commands, "lxc", "one node's containers", ("node", {}))
    command(commands, "snapshots", "a guest's snapshots", ("vmid", vmid), ("at_node", AT_NODE))
    command(commands, "tasks", "a node's ten newest tasks", ("node", {}))
    command(commands, "storage", "a node's storages and their use", ("node", {}))
    command(commands, "ips", "configured IPv4 addresses", ("prefix", {"nargs": "?"}))
    requests = command(commands, "requests", "approval requests, newest first")
    requests.add_argument("--status", help="comma-separated: pending, succeeded, rejected, ...")
    command(commands, "request", "one approval request", ("id", {"type": int}))
    command(commands, "wait", "wait for a request (its number), a task (its UPID) or a batch", ("target", {}))
    command(commands, "operations", "the operations Proxgate offers: name, risk, approval, label")
    add_bulk_commands(command, commands)
    add_watch_commands(command, commands)


def add_operation(commands: Any, op: dict[str, Any], name: str, shortcut: Shortcut | None = None) -> None:
    """The command of one operation, its arguments made from the operation's parameter schema."""
    approval = " (needs approval)" if op.get("needs_approval") else ""
    help_text = shortcut.help if shortcut else f"{op['label']}{approval}"
    parser = command(commands, name, help_text, description=op.get("about") or None)
    if op["target"] == "guest":
        parser.add_argument("vmid", type=int, help="the guest's VMID")
    if op["target"] == "node":
        parser.add_argument("node", help="the node's name")
    schema: dict[str, Any] = op.get("parameters") or {}
    required = list(schema.get("required") or [])
    sent: list[tuple[str, str]] = []
    for param, prop in (schema.get("properties") or {}).items():
        dest = f"param_{param}"
        sent.append((param, dest))
        kind, keywords = value_kind(plain(prop, schema.get("$defs") or {}))
        if shortcut and param == shortcut.parameter:
            parser.add_argument(dest, metavar=param.upper(), nargs="?", help=help_of(prop), **keywords)
        elif param in required:
            parser.add_argument(dest, metavar=param.upper(), help=help_of(prop), **keywords)
        else:
            flag = f"--param-{param}" if param in OWN_OPTIONS else f"--{param.replace('_', '-')}"
            action = argparse.BooleanOptionalAction if kind == "boolean" else None
            parser.add_argument(flag, dest=dest, action=action, help=help_of(prop), **keywords)
    if schema.get("patternProperties"):
        patterns = ", ".join(sorted(schema["patternProperties"]))
        parser.add_argument(
            "--set", dest="indexed", action="append", metavar="KEY=VALUE", help=f"a key matching {patterns}"
        )
    if op["target"] == "guest":
        parser.add_argument("at_node", **AT_NODE)
    parser.set_defaults(operation=op, sent=sent, shortcut=shortcut)


def value_kind(prop: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A parameter's JSON type and the argparse keywords that read it (a type, or the choices)."""
    kind = str(prop.get("type") or "string")
    if "enum" in prop:
        return kind, {"choices": [str(v) for v in prop["enum"]]}
    if kind == "boolean":
        return kind, {}
    return kind, {"type": {"integer": int, "number": float}.get(kind, str)}


def plain(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without its indirections: `$ref` followed, `anyOf [X, null]` as X."""
    if "$ref" in prop:
        prop = {**defs[prop["$ref"].rsplit("/", 1)[-1]], **prop}
    variants = [v for v in prop.get("anyOf") or () if v.get("type") != "null"]
    return {**variants[0], **prop} if len(variants) == 1 else prop


def help_of(prop: dict[str, Any]) -> str | None:
    """A parameter's description as argparse shows it ('%' is its own formatting)."""
    text = prop.get("description")
    return str(text).replace("%", "%%") if text else None


def body_of(args: argparse.Namespace) -> dict[str, Any]:
    """The parameters given on the command line (what is left out takes Proxgate's default)."""
    body = {param: getattr(args, dest) for param, dest in args.sent if getattr(args, dest, None) is not None}
    for item in getattr(args, "indexed", None) or []:
        key, _, value = str(item).partition("=")
        body[key] = value
    shortcut: Shortcut | None = args.shortcut
    if shortcut and shortcut.parameter not in body:
        body[shortcut.parameter] = shortcut.default()
    return body
