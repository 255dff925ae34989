"""A page left open signs out after the idle time: its own refreshes are not activity."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.engine import sync_url
from tests.factories import make_user, signed_in
from tests.servers import AppServer

POLL = {"HX-Request": "true", "X-Proxgate-Background": "1"}


def last_seen(settings: Settings, cookie: str, set_to: datetime | None = None) -> datetime:
    """The session's last activity as stored (after moving it to `set_to`, as time passing would)."""
    engine = create_engine(sync_url(settings.resolved_database_url))
    key = hashlib.sha256(cookie.encode()).hexdigest()
    with engine.begin() as conn:
        if set_to is not None:
            conn.execute(
                text("UPDATE web_sessions SET last_seen_at = :t WHERE id = :id"), {"t": set_to, "id": key}
            )
        value = conn.execute(
            text("SELECT last_seen_at FROM web_sessions WHERE id = :id"), {"id": key}
        ).scalar_one()
    engine.dispose()
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_background_refreshes_do_not_keep_a_session_alive(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        cookie = http.cookies["proxgate_session"]
        five_minutes_ago = datetime.now(UTC) - timedelta(minutes=5)
        last_seen(settings, cookie, five_minutes_ago)
        assert http.get("/tasks", headers=POLL).status_code == 200
        assert abs(last_seen(settings, cookie) - five_minutes_ago) < timedelta(seconds=1)
        assert http.get("/tasks").status_code == 200  # a person clicked: that is activity
        assert datetime.now(UTC) - last_seen(settings, cookie) < timedelta(seconds=30)
        idle = timedelta(minutes=settings.session_idle_minutes, seconds=1)
        last_seen(settings, cookie, datetime.now(UTC) - idle)
        expired = http.get("/tasks", headers=POLL)
        assert expired.status_code == 401 and expired.headers["HX-Redirect"].startswith("/login")
