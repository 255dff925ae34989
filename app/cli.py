"""The `proxgate` command: serve, migrate, check, user, token, demo, up (and mcp, ctl from app/agents)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from app.agents.cli import register as register_agents
from app.config import ConfigError, Settings, load_settings

ROLES = ["viewer", "operator", "approver", "admin"]
# Seconds an idle connection stays open: longer than the reverse proxies' and clients' own keep-alive (nginx 60 s,
# httpx 5 s), so the app never closes a connection just as the other side sends the next request on it.
KEEP_ALIVE = 75


class CliError(Exception):
    """A failure the command reports in one line and exits 2."""


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise CliError(f"configuration error: {exc}") from None


def _migrated_settings() -> Settings:
    from app.db.migrate import upgrade_database

    settings = _settings()
    upgrade_database(settings.resolved_database_url)
    return settings


def _run_service(coro: Coroutine[Any, Any, str]) -> str:
    from app.services.errors import ServiceError

    try:
        return asyncio.run(coro)
    except ServiceError as exc:
        raise CliError(exc.message) from None


def _log_to_stderr() -> None:
    """Proxgate's own lines (audit checkpoints, retries) at INFO beside uvicorn's; other libraries stay quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logger = logging.getLogger("app")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False


def serve(settings: Settings, host: str, port: int) -> None:
    """Build the app for these settings and run it with uvicorn until interrupted."""
    import uvicorn

    from app.main import create_app

    try:
        app = create_app(settings)
    except ConfigError as exc:
        raise CliError(f"configuration error: {exc}") from None
    if not settings.proxmox_verify_tls:
        print(
            "proxgate: WARNING: PROXMOX_VERIFY_TLS=false; the Proxmox certificate is not checked",
            file=sys.stderr,
        )
    _log_to_stderr()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE,
        **proxy_options(settings),
    )


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's X-Forwarded-* handling: only from PROXGATE_TRUSTED_PROXIES, and off when none are named."""
    forwarded = settings.trusted_proxies or None
    return {"proxy_headers": bool(forwarded), "forwarded_allow_ips": forwarded}


def cmd_serve(args: argparse.Namespace) -> None:
    """Run the web app with uvicorn (migrating the database first)."""
    serve(_settings(), args.host, args.port)


def cmd_migrate(args: argparse.Namespace) -> None:
    """Bring the database schema up to date."""
    from app.db.migrate import upgrade_database

    settings = _settings()
    upgrade_database(settings.resolved_database_url)
    print("database is up to date")


def cmd_check(args: argparse.Namespace) -> None:
    """Connect to Proxmox with the configured token and report what works, in one line each; warn on stderr
    about data files that group or others may read."""
    from app.db.files import open_to_others
    from app.services.cluster import check_connection

    settings = _settings()
    for line in open_to_others(settings.data_dir, settings.resolved_database_url):
        print(f"proxgate: WARNING: {line}", file=sys.stderr)
    ok, lines = asyncio.run(check_connection(settings))
    for line in lines:
        print(line)
    if not ok:
        raise SystemExit(1)


def _read_password(prompt_for: str) -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Password for {prompt_for}: ")
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_add(args: argparse.Namespace) -> None:
    """Add a local user; the password comes from standard input."""
    from app.services.accounts import add_user

    settings = _migrated_settings()
    password = _read_password(args.name)
    print(_run_service(add_user(settings, args.name, args.role, password, args.groups)))


def cmd_user_password(args: argparse.Namespace) -> None:
    """Set a user's password (from standard input); their sessions end and their API tokens are revoked."""
    from app.services.accounts import set_password

    settings = _migrated_settings()
    password = _read_password(args.name)
    print(_run_service(set_password(settings, args.name, password, keep_tokens=args.keep_tokens)))


def cmd_user_role(args: argparse.Namespace) -> None:
    """Give a user another role."""
    from app.services.accounts import set_role

    print(_run_service(set_role(_migrated_settings(), args.name, args.role)))


def cmd_user_set(args: argparse.Namespace) -> None:
    """Change a user's role and/or approver groups."""
    from app.services.accounts import set_role, set_user_groups

    settings = _migrated_settings()
    if args.role is None and args.groups is None:
        raise SystemExit("proxgate user set: say --role and/or --groups")
    if args.role is not None:
        print(_run_service(set_role(settings, args.name, args.role)))
    if args.groups is not None:
        print(_run_service(set_user_groups(settings, args.name, args.groups)))


def cmd_token_add(args: argparse.Namespace) -> None:
    """Create an API token for a user and print it once."""
    from app.services.accounts import add_token

    settings = _migrated_settings()
    print(_run_service(add_token(settings, args.name, args.user, args.role)))


def cmd_audit_verify(args: argparse.Namespace) -> None:
    """Check the audit chain against the newest checkpoint; exit 1 if broken, 3 if not everything is proven."""
    from app.services.audit import cli as audit_cli

    code, lines = asyncio.run(audit_cli.verify(_migrated_settings(), args.checkpoint))
    print("\n".join(lines))
    if code:
        raise SystemExit(code)


def cmd_audit_export(args: argparse.Namespace) -> None:
    """Write the (filtered) audit log to standard output as CSV or JSON Lines."""
    from pydantic import ValidationError

    from app.services.audit import AuditFilter
    from app.services.audit import cli as audit_cli

    try:
        filters = AuditFilter(
            actor=args.actor,
            vmid=args.vmid,
            operation=args.operation,
            outcome=args.outcome,
            since=args.since,
            until=args.until,
        )
    except ValidationError as exc:
        raise CliError(f"bad filter: {exc.errors()[0]['msg']}") from None
    count = asyncio.run(audit_cli.export(_migrated_settings(), args.format, filters, sys.stdout.write))
    print(f"{count} events exported", file=sys.stderr)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # SIGTERM ends the process like Ctrl-C does: through the finally blocks, so the demo cleans up.
    raise SystemExit(128 + signum)


def cmd_demo(args: argparse.Namespace) -> None:
    """Start a simulated cluster and serve Proxgate on it; stop it and delete its files on Ctrl-C or SIGTERM."""
    from app.demo.launcher import announce, demo_cluster

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    password = args.demo_password or os.environ.get("PROXGATE_DEMO_PASSWORD")
    with demo_cluster(args.guests, password, args.data_dir) as demo:
        announce(f"http://{args.host}:{args.port}/", demo.password, args.guests, demo.fake_dir)
        serve(demo.settings, args.host, args.port)


def cmd_up(args: argparse.Namespace) -> None:
    """Serve against the configured Proxmox, or the demo when nothing of Proxmox is configured."""
    settings = _settings()
    if settings.proxmox_configured:
        cmd_serve(args)
        return
    given, missing = settings.given_proxmox_settings(), settings.missing_proxmox_settings()
    if given:
        raise CliError(
            f"configuration error: {' and '.join(given)} {'is' if len(given) == 1 else 'are'} set but "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not: give "
            f"{'it' if len(missing) == 1 else 'them'} in the environment or in {settings.credentials_file}, "
            f"or unset {' and '.join(given)} for the demo"
        )
    print(
        "proxgate: no Proxmox configured (PROXMOX_HOST, PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET); "
        "starting the demo"
    )
    args.guests, args.demo_password, args.data_dir = 30, None, None
    cmd_demo(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(
        prog="proxgate", description="Run Proxmox VE with a second pair of eyes."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("serve", cmd_serve, "run the web app"),
        ("up", cmd_up, "run the web app, or the demo when no Proxmox is configured"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default=os.environ.get("PROXGATE_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("PROXGATE_PORT", "8080")))
        p.set_defaults(func=func)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    sub.add_parser("check", help="test the connection to Proxmox").set_defaults(func=cmd_check)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", aliases=["create"], help="add a user (password on stdin)")
    add.add_argument("name")
    add.add_argument("--role", default="viewer", choices=ROLES)
    add.add_argument("--groups", default="", help="approver groups, comma-separated (e.g. dba,network)")
    add.set_defaults(func=cmd_user_add)
    uset = user.add_parser("set", help="change a user's role or approver groups")
    uset.add_argument("name")
    uset.add_argument("--role", choices=ROLES, default=None)
    uset.add_argument(
        "--groups", default=None, help="the user's approver groups, comma-separated ('' for none)"
    )
    uset.set_defaults(func=cmd_user_set)
    passwd = user.add_parser("password", help="set a user's password (on stdin); revokes their API tokens")
    passwd.add_argument("name")
    passwd.add_argument("--keep-tokens", action="store_true", help="leave the user's API tokens working")
    passwd.set_defaults(func=cmd_user_password)
    role = user.add_parser("role", help="give a user another role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(func=cmd_user_role)
    token = sub.add_parser("token", help="manage API tokens").add_subparsers(dest="action", required=True)
    tadd = token.add_parser("add", help="create a token for a user and print it once")
    tadd.add_argument("name")
    tadd.add_argument("--user", required=True)
    tadd.add_argument(
        "--role",
        choices=ROLES,
        default=None,
        help="what the token may do, at most the user's role (default: the user's role, at most operator); "
        "a token approves only with --role approver and PROXGATE_APPROVE_WITH_TOKENS=true",
    )
    tadd.set_defaults(func=cmd_token_add)
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(dest="action", required=True)
    check = audit.add_parser("verify", help="check the hash chain against the newest checkpoint")
    check.add_argument("--checkpoint", type=Path, help="a checkpoint file to compare with instead")
    check.set_defaults(func=cmd_audit_verify)
    exp = audit.add_parser("export", help="write events as CSV or JSON Lines to standard output")
    exp.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
    for name in ("actor", "operation", "outcome", "since", "until"):
        exp.add_argument(f"--{name}")
    exp.add_argument("--vmid", type=int)
    exp.set_defaults(func=cmd_audit_export)
    demo = sub.add_parser("demo", help="run Proxgate on a simulated Proxmox cluster")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--guests", type=int, default=30)
    demo.add_argument("--demo-password", default=None)
    demo.add_argument(
        "--data-dir", default=None, help="keep the demo's database here (default: a temporary folder)"
    )
    demo.set_defaults(func=cmd_demo)
    register_agents(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except CliError as exc:
        print(f"proxgate: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
