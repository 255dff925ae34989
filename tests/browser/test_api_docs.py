"""The API documentation (/api/docs) works under the app's own CSP, from vendored files only."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from app.config import Settings
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_api_docs_show_the_operations_without_leaving_the_app(page: Page, settings: Settings) -> None:
    problems: list[str] = []
    outside: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    def request(sent: Request) -> None:
        if not sent.url.startswith(("http://127.0.0.1", "data:")):
            outside.append(sent.url)

    page.on("console", console)
    page.on("request", request)
    sign_in(page, make_user(settings, "viewer"))  # the page and its document are for signed-in people
    page.goto("/api/docs")
    expect(page.get_by_text("/api/v1/guests", exact=True).first).to_be_visible()
    page.get_by_text("/api/v1/guests", exact=True).first.click()
    expect(page.get_by_text("next_cursor").first).to_be_visible()
    assert not [p for p in problems if "Content Security Policy" in p], problems
    assert outside == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_api_docs_authorize_follow_the_colour_scheme_and_link_to_the_app(
    page: Page, settings: Settings, scheme: Literal["light", "dark"]
) -> None:
    page.emulate_media(color_scheme=scheme)
    sign_in(page, make_user(settings, "viewer"))
    page.goto("/account")
    page.locator("#api-docs-link").click()
    expect(page).to_have_url(re.compile(r"/api/docs$"))
    expect(page.get_by_role("button", name="Authorize").first).to_be_visible(timeout=20000)
    dark = page.evaluate("""() => {
      const c = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
      return (c[0] + c[1] + c[2]) / 3 < 80 && getComputedStyle(document.getElementById('swagger-ui')).filter !== 'none';
    }""")
    assert dark == (scheme == "dark")
    page.get_by_role("button", name="Authorize").first.click()
    expect(page.get_by_text("An API token").first).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("#back-to-app").click()
    expect(page.locator("main h1")).to_have_text("Cluster")
