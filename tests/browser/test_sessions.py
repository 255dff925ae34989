"""In the browser: the refreshes a page makes by itself say so, so they do not count as the person's activity."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from app.config import Settings
from tests.browser.test_tasks import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_polling_elements_mark_their_requests_as_background(page: Page, settings: Settings) -> None:
    page.clock.install()  # the page's timers, moved on below instead of waited out
    sign_in(page, make_user(settings, "viewer"))
    page.goto("/tasks")  # the task list refreshes itself every 5 seconds
    with page.expect_request(lambda r: r.headers.get("hx-request") == "true", timeout=12000) as poll:
        page.clock.fast_forward(5000)
    assert "/tasks" in poll.value.url
    assert poll.value.headers.get("x-proxgate-background") == "1"


def test_the_approval_badge_refresh_is_background_too(page: Page, settings: Settings) -> None:
    sign_in(page, make_user(settings, "approver"))
    with page.expect_request(lambda r: "/approvals/badge" in r.url, timeout=12000) as badge:
        page.goto("/storage")
    assert badge.value.headers.get("x-proxgate-background") == "1"
