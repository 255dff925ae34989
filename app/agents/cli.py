"""`proxgate mcp` and `proxgate ctl`: their arguments, and how a failure becomes an exit code.

Both read PROXGATE_URL and PROXGATE_TOKEN and talk to that server's /api/v1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from app.agents.api import ApiConfig, ApiConfigError, ApiError, ProxgateApi, user_agent
from app.agents.ctl_commands import COMMANDS, FAILED, REFUSED, USAGE

EXIT_CODES = (
    "exit codes: 0 done, 1 failed (the task or the approved change failed, or Proxgate could not be reached), "
    "2 usage, 3 pending (waiting for a person's approval, or still running when --timeout ran out), "
    "4 refused (by Proxgate: role, no such guest or node, invalid value, or the request was rejected, "
    "cancelled or expired)"
)
CHANGE_HELP = {
    "start": "start a guest",
    "stop": "power a guest off at once",
    "shutdown": "shut a guest down cleanly",
    "reboot": "reboot a guest",
}


def register(sub: Any) -> None:
    """Add the mcp and ctl sub-commands to the `proxgate` parser."""
    mcp = sub.add_parser("mcp", help="serve Proxgate's MCP server on stdio (PROXGATE_URL, PROXGATE_TOKEN)")
    mcp.set_defaults(func=cmd_mcp)
    ctl = sub.add_parser(
        "ctl",
        help="the pve.sh-style command line, through Proxgate (PROXGATE_URL, PROXGATE_TOKEN)",
        epilog=EXIT_CODES,
    )
    options(ctl, argparse.SUPPRESS)
    ctl.set_defaults(func=cmd_ctl, json=False, wait=False, reason=None, timeout=300.0)
    commands = ctl.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_reads(commands)
    add_changes(commands)


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


def command(commands: Any, name: str, help_text: str, *args: tuple[str, dict[str, Any]]) -> Any:
    """A sub-command with positional arguments and the shared options."""
    parser = commands.add_parser(name, help=help_text, epilog=EXIT_CODES)
    for dest, kwargs in args:
        parser.add_argument(dest, **kwargs)
    options(parser, argparse.SUPPRESS)
    return parser


def add_reads(commands: Any) -> None:
    """The listing and request commands."""
    vmid: dict[str, Any] = {"type": int}
    command(commands, "status", "the nodes' status, CPU and memory")
    command(commands, "vms", "every VM and container, or one node's VMs", ("node", {"nargs": "?"}))
    command(commands, "lxc", "one node's containers", ("node", {}))
    command(commands, "snapshots", "a guest's snapshots", ("vmid", vmid))
    command(commands, "tasks", "a node's ten newest tasks", ("node", {}))
    command(commands, "storage", "a node's storages and their use", ("node", {}))
    command(commands, "ips", "configured IPv4 addresses", ("prefix", {"nargs": "?"}))
    requests = command(commands, "requests", "approval requests, newest first")
    requests.add_argument("--status", help="comma-separated: pending, succeeded, rejected, ...")
    command(commands, "request", "one approval request", ("id", {"type": int}))
    command(commands, "wait", "wait for a request (its number) or a task (its UPID)", ("target", {}))


def add_changes(commands: Any) -> None:
    """The commands that change something (through the same gate as a person's click)."""
    vmid: tuple[str, dict[str, Any]] = ("vmid", {"type": int})
    for name, help_text in CHANGE_HELP.items():
        command(commands, name, help_text, vmid)
    command(
        commands,
        "snap",
        "take a snapshot (named snap-YYYYmmdd-HHMMSS by default)",
        vmid,
        ("name", {"nargs": "?"}),
    )
    rollback = command(commands, "rollback", "roll back to a snapshot (needs approval)", vmid, ("name", {}))
    rollback.add_argument("--start", action="store_true", help="start the guest afterwards")
    delete = command(commands, "delete", "delete a stopped guest (needs approval)", vmid)
    delete.add_argument("--purge", action="store_true", help="also remove it from jobs and HA")
    delete.add_argument("--destroy-unreferenced-disks", action="store_true")
    command(
        commands,
        "resize",
        "grow a disk, e.g. resize 100 scsi0 +10G (needs approval)",
        vmid,
        ("disk", {}),
        ("size", {}),
    )


def config_or_exit() -> ApiConfig:
    """PROXGATE_URL and PROXGATE_TOKEN, or exit 2 saying what is missing."""
    try:
        return ApiConfig.from_env()
    except ApiConfigError as exc:
        print(f"proxgate: {exc}", file=sys.stderr)
        raise SystemExit(USAGE) from None


def cmd_mcp(args: argparse.Namespace) -> None:
    """Serve the MCP server on standard input and output."""
    from app.agents.mcp_server import serve_stdio

    asyncio.run(serve_stdio(config_or_exit()))


def cmd_ctl(args: argparse.Namespace) -> None:
    """Run one ctl command and exit with its code."""
    raise SystemExit(asyncio.run(run_ctl(config_or_exit(), args)))


async def run_ctl(config: ApiConfig, args: argparse.Namespace) -> int:
    """The command's exit code; Proxgate's refusals and failures are reported in one line."""
    async with ProxgateApi.connect(config, user_agent("proxgate-ctl")) as api:
        try:
            return await COMMANDS[args.command](api, args)
        except ApiError as exc:
            print(f"proxgate: {exc}", file=sys.stderr)
            return REFUSED if exc.refused else FAILED
