"""Take the README's screenshots of the guest and node pages with their charts, with Playwright on the demo.

Starts `proxgate demo` on a free port, signs in as alice, waits until the charts are drawn, and writes
docs/guest-charts.png (light) and docs/node-charts.png (dark).

    .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.browser.conftest import LAUNCH_ARGS, chromium_path  # noqa: E402
from tests.servers import free_port  # noqa: E402

PASSWORD = secrets.token_urlsafe(12)  # for this run's demo users only
VIEWPORT = {"width": 1280, "height": 1000}


def start_demo(port: int) -> subprocess.Popen[bytes]:
    """`proxgate demo` in its own process, answering once /healthz does."""
    command = [sys.executable, "-m", "app.cli", "demo", "--port", str(port), "--demo-password", PASSWORD]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the demo did not start")


def shoot(page: Page, path: str, name: str) -> None:
    """Open path, wait for the drawn charts, save docs/<name>."""
    page.goto(path)
    page.locator("#history[data-state='ready']").wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(ROOT / "docs" / name))
    print(f"docs/{name}: {path}")


def main() -> None:
    """Start the demo, take both screenshots, stop the demo."""
    port = free_port()
    demo = start_demo(port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
            for scheme, path, name in (
                ("light", "/guests/108?timeframe=day", "guest-charts.png"),
                ("dark", "/nodes/pve1?timeframe=week", "node-charts.png"),
            ):
                context = browser.new_context(
                    base_url=f"http://127.0.0.1:{port}",
                    color_scheme=scheme,
                    viewport=VIEWPORT,  # type: ignore[arg-type]
                )
                page = context.new_page()
                page.goto("/login")
                page.get_by_label("Username").fill("alice")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Cluster").wait_for()
                shoot(page, path, name)
                context.close()
            browser.close()
    finally:
        demo.terminate()
        demo.wait(30)


if __name__ == "__main__":
    main()
