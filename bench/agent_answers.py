"""Benchmark: how big and how slow the MCP tools' answers are on a big cluster, as an agent sees them.

Runs the demo's fake PVE in its own process (`app.demo.fakeserver`, seed_cluster with --guests, as `proxgate
demo` does) and the app in another (`python -m app.cli serve`, PROXGATE_MCP_HTTP=true, SQLite in a temporary
folder), makes an operator token, then drives /mcp with the MCP SDK's own client: the size of tools/list, and
for each listing tool the size of its answer (the JSON-RPC result, text and structured content together) and
how long it took. list_free_ips comes first (cold caches), again at once, and again 16 s later.

    .venv/bin/python bench/agent_answers.py [--guests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.demo.fakeserver import start_fake_process  # noqa: E402
from tests.agents.mcp_client import http_session, text_of  # noqa: E402
from tests.servers import free_port  # noqa: E402

PASSWORD = "a long password for the benchmark's agent"  # noqa: S105 - a throwaway account
# list_free_ips first, on cold caches; then again, and once more after the live answers' time to live (15 s).
CALLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("list_free_ips", {"cidr": "10.0.10.0/24", "limit": 1}),
    ("list_free_ips", {"cidr": "10.0.10.0/24", "limit": 1}),
    ("sleep", {"seconds": 16}),
    ("list_free_ips", {"cidr": "10.0.10.0/24", "limit": 1}),
    ("get_identity", {}),
    ("get_cluster", {}),
    ("list_guests", {}),
    ("list_guests", {"node": "2"}),
    ("get_guest", {"vmid": 100}),
    ("list_ips", {}),
    ("list_ips", {"prefix": "10.0.10."}),
    ("list_ips", {"node": "pve1", "status": "running"}),
    ("list_free_ips", {"cidr": "10.1.20.0/24"}),
    ("list_backups", {}),
    ("list_backups", {"newest": True}),
    ("list_tasks", {}),
    ("list_storage", {}),
    ("list_my_requests", {}),
    ("list_storage_content", {"node": "pve1", "storage": "local"}),
    ("list_audit", {}),
    ("get_node", {"node": "pve1"}),
    ("list_unbacked_guests", {}),
)


def start_app(fake: Any, workdir: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """The app on a free port with /mcp on; (process, url, env)."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PROXMOX_HOST": fake.host,
        "PROXMOX_TOKEN_ID": fake.token_id,
        "PROXMOX_TOKEN_SECRET": fake.token_secret,
        "PROXMOX_TLS_FINGERPRINT": fake.fingerprint,
        "PROXGATE_CREDENTIALS_FILE": str(workdir / "no-credentials"),
        "PROXGATE_DATA_DIR": str(workdir / "data"),
        "DATABASE_URL": f"sqlite:///{workdir / 'proxgate.db'}",
        "PROXGATE_MCP_HTTP": "true",
    }
    cli = [sys.executable, "-m", "app.cli"]
    run = dict(cwd=ROOT, env=env, text=True, check=True, capture_output=True)
    subprocess.run([*cli, "user", "add", "agent", "--role", "operator"], input=PASSWORD + "\n", **run)  # noqa: S603
    process = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=ROOT, env=env)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the app did not start")
        time.sleep(0.2)
    return process, url, env


def make_token(env: dict[str, str]) -> str:
    """An operator token for the agent."""
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "app.cli", "token", "add", "bench", "--user", "agent"],
        cwd=ROOT,
        env=env,
        text=True,
        check=True,
        capture_output=True,
    ).stdout
    return next(word for word in out.split() if word.startswith("pxg_"))


async def measure(url: str, token: str, show: bool = False) -> None:
    """Print one line per call: tool, arguments, answer size, text size, seconds."""
    async with http_session(url, token) as session:
        listed = await session.list_tools()
        names = {t.name for t in listed.tools}
        size = len(listed.model_dump_json(by_alias=True, exclude_none=True))
        print(f"tools/list\t{len(listed.tools)} tools\t{size:,} chars")
        for name, arguments in CALLS:
            if name == "sleep":
                await asyncio.sleep(arguments["seconds"])
                continue
            if name not in names:
                print(f"{name}\t{arguments}\t(no such tool)")
                continue
            started = time.perf_counter()
            result = await session.call_tool(name, arguments)
            seconds = time.perf_counter() - started
            answer = len(result.model_dump_json(by_alias=True, exclude_none=True))
            error = " ERROR " + text_of(result)[:120] if result.is_error else ""
            print(
                f"{name}\t{arguments}\t{answer:,} chars (text {len(text_of(result)):,})\t{seconds:.2f} s{error}"
            )
            if show:
                print("\t" + text_of(result).replace("\n", "\n\t"))


def main() -> None:
    """Start the fake and the app, measure, stop them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=2000)
    parser.add_argument("--show", action="store_true", help="print the text each tool answered")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="proxgate-bench-") as scratch:
        work = Path(scratch)
        fake = start_fake_process(guests=args.guests, state_dir=work / "fake")
        try:
            process, url, env = start_app(fake, work)
            try:
                asyncio.run(measure(url, make_token(env), args.show))
            finally:
                process.terminate()
                process.wait(30)
        finally:
            fake.stop()


if __name__ == "__main__":
    main()
