"""In the browser: the audit history shows times to the second in the reader's own time zone, UTC on hover."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from playwright.sync_api import Browser, expect

from app.config import Settings
from tests.browser.test_sign_in import sign_in
from tests.factories import make_token, make_user
from tests.servers import AppServer

pytestmark = pytest.mark.browser
KOLKATA = timezone(timedelta(hours=5, minutes=30))


def test_audit_times_are_local_to_the_second_with_utc_on_hover(
    browser: Browser, app_server: AppServer, settings: Settings
) -> None:
    context = browser.new_context(base_url=app_server.url, timezone_id="Asia/Kolkata")
    page = context.new_page()
    try:
        name = make_user(settings, "viewer")
        token = make_token(settings, name)
        refused = httpx.post(
            f"{app_server.url}/api/v1/guests/100/actions/start", headers={"Authorization": f"Bearer {token}"}
        )
        assert refused.status_code == 403, "a refused attempt is in the history"
        sign_in(page, name)
        page.goto("/audit")
        cell = page.locator("#audit-events tbody tr time").first
        expect(cell).to_have_attribute("data-shown", "1")
        utc = datetime.fromisoformat((cell.get_attribute("datetime") or "").replace("Z", "+00:00"))
        expect(cell).to_have_text(utc.astimezone(KOLKATA).strftime("%Y-%m-%d %H:%M:%S"))
        expect(cell).to_have_attribute("title", utc.strftime("%Y-%m-%d %H:%M:%S UTC"))
        outcomes = page.locator("select[name=outcome] option").all_inner_texts()
        assert "invalid" in outcomes and "denied" in outcomes
    finally:
        context.close()
