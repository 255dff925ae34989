"""Playwright with Chromium (Debian's /usr/bin/chromium, or PLAYWRIGHT_CHROMIUM_EXECUTABLE)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.servers import AppServer

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    """The Chromium to drive: the override, Debian's, or None for Playwright's own download."""
    return os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") or shutil.which("chromium") or None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=LAUNCH_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, app_server: AppServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the app."""
    context = browser.new_context(base_url=app_server.url)
    context.set_default_timeout(15000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def phone(browser: Browser, app_server: AppServer) -> Iterator[Page]:
    """A narrow, touch-sized viewport, as on a phone."""
    context = browser.new_context(
        base_url=app_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    tab = context.new_page()
    yield tab
    context.close()
