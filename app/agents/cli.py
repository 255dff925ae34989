"""`proxgate mcp` and `proxgate ctl`: their arguments, and how a failure becomes an exit code.

Both read PROXGATE_URL and PROXGATE_TOKEN and talk to that server's /api/v1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from app.agents.api import ApiConfig, ApiConfigError, ApiError, ProxgateApi, user_agent
from app.agents.ctl_commands import COMMANDS, FAILED, REFUSED, USAGE, cmd_operation
from app.agents.ctl_parser import EXIT_CODES, READS, command_parser, options
from app.config import ConfigError, mcp_read_only


def register(sub: Any) -> None:
    """Add the mcp and ctl sub-commands to the `proxgate` parser. A ctl command is read in full once the
    operations are known (GET /api/v1/operations): here only its name and the rest are taken."""
    mcp = sub.add_parser("mcp", help="serve Proxgate's MCP server on stdio (PROXGATE_URL, PROXGATE_TOKEN)")
    mcp.set_defaults(func=cmd_mcp)
    ctl = sub.add_parser(
        "ctl",
        help="the pve.sh-style command line, through Proxgate (PROXGATE_URL, PROXGATE_TOKEN)",
        epilog=EXIT_CODES,
    )
    options(ctl, argparse.SUPPRESS)
    ctl.set_defaults(func=cmd_ctl, json=False, wait=False, reason=None, timeout=300.0)
    ctl.add_argument(
        "command",
        metavar="COMMAND",
        help=f"{', '.join(READS)}, or an operation: `proxgate ctl operations` lists them, "
        "`proxgate ctl OPERATION --help` says what each takes",
    )
    ctl.add_argument("arguments", nargs=argparse.REMAINDER, metavar="...", help="the command's arguments")


async def parsed_command(api: ProxgateApi, args: argparse.Namespace) -> argparse.Namespace:
    """The whole command, read with the operations Proxgate offers (not fetched for a listing); SystemExit
    for --help and usage errors, as argparse does."""
    operations = [] if args.command in READS else await api.collect("/api/v1/operations")
    argv = [args.command, *args.arguments]
    return command_parser(operations).parse_args(argv, namespace=argparse.Namespace(**vars(args)))


def config_or_exit() -> ApiConfig:
    """PROXGATE_URL and PROXGATE_TOKEN, or exit 2 saying what is missing."""
    try:
        return ApiConfig.from_env()
    except ApiConfigError as exc:
        print(f"proxgate: {exc}", file=sys.stderr)
        raise SystemExit(USAGE) from None


def cmd_mcp(args: argparse.Namespace) -> None:
    """Serve the MCP server on standard input and output; exit 4 at once when Proxgate refuses the token (1
    when it cannot be reached), saying so on standard error."""
    from app.agents.mcp_server import StartRefused, serve_stdio

    config = config_or_exit()
    try:
        read_only = mcp_read_only()
    except ConfigError as exc:
        print(f"proxgate: {exc}", file=sys.stderr)
        raise SystemExit(USAGE) from None
    try:
        asyncio.run(serve_stdio(config, read_only))
    except StartRefused as exc:
        print(f"proxgate mcp: {exc}", file=sys.stderr)
        raise SystemExit(REFUSED if exc.refused else FAILED) from None


def cmd_ctl(args: argparse.Namespace) -> None:
    """Run one ctl command and exit with its code (a listing's --help and usage errors need no server)."""
    if args.command in READS:
        command_parser([]).parse_args([args.command, *args.arguments])
    if args.command == "help":
        command_parser([]).print_help()
        raise SystemExit(0)
    raise SystemExit(asyncio.run(run_ctl(config_or_exit(), args)))


async def run_ctl(config: ApiConfig, args: argparse.Namespace) -> int:
    """The command's exit code; Proxgate's refusals and failures are reported in one line."""
    async with ProxgateApi.connect(config, user_agent("proxgate-ctl")) as api:
        try:
            parsed = await parsed_command(api, args)
            return await COMMANDS.get(parsed.command, cmd_operation)(api, parsed)
        except SystemExit as exc:  # --help, or a usage error argparse has printed
            return exc.code if isinstance(exc.code, int) else USAGE
        except ApiError as exc:
            print(f"proxgate: {exc}", file=sys.stderr)
            return REFUSED if exc.refused else FAILED
