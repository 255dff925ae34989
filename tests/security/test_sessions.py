"""Sessions: a new id at every sign-in, sign-out and password changes end them, idle and absolute timeouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from app.config import Settings
from tests.conftest import app_settings
from tests.factories import PASSWORD, login, make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.security.store import age_session, pass_time
from tests.servers import AppServer

COOKIE = "proxgate_session"


def alive(base_url: str, cookie: str) -> bool:
    """Whether the session cookie still opens a page (a dead one is sent to the sign-in page)."""
    with httpx.Client(base_url=base_url, cookies={COOKIE: cookie}) as replay:
        answer = replay.get("/account")
    assert answer.status_code in (200, 303), answer.status_code
    return answer.status_code == 200


def test_a_session_id_set_before_sign_in_is_not_the_one_after(
    client: httpx.Client, settings: Settings
) -> None:
    name = make_user(settings, "viewer")
    client.cookies.set(COOKIE, "planted-by-someone-else", domain="127.0.0.1", path="/")
    assert login(client, name).status_code == 303
    assert client.cookies[COOKIE] != "planted-by-someone-else"
    assert alive(str(client.base_url), client.cookies[COOKIE])
    assert not alive(str(client.base_url), "planted-by-someone-else")


def test_signing_in_again_ends_the_earlier_session(app_server: AppServer, settings: Settings) -> None:
    name = make_user(settings, "viewer")
    with signed_in(app_server.url, name) as http:
        earlier = http.cookies[COOKIE]
        again = http.post("/login", data={"username": name, "password": PASSWORD, "next": "/"})
        assert again.status_code == 303
        assert http.cookies[COOKIE] != earlier
        assert alive(app_server.url, http.cookies[COOKIE])
    assert not alive(app_server.url, earlier)


def test_sign_out_ends_this_session_and_no_other(app_server: AppServer, settings: Settings) -> None:
    name = make_user(settings, "viewer")
    with signed_in(app_server.url, name) as phone, signed_in(app_server.url, name) as laptop:
        cookie = laptop.cookies[COOKIE]
        assert laptop.post("/logout").status_code == 303
        assert not alive(app_server.url, cookie)
        assert alive(app_server.url, phone.cookies[COOKIE])


def test_a_password_change_ends_every_session_of_the_user(app_server: AppServer, settings: Settings) -> None:
    name = make_user(settings, "operator")
    with signed_in(app_server.url, name) as phone, signed_in(app_server.url, name) as laptop:
        changed = laptop.post("/account/password", data={"current": PASSWORD, "new": "another long password"})
        assert changed.status_code == 200 and "Sign in again with the new one." in changed.text
        assert not alive(app_server.url, laptop.cookies[COOKIE])
        assert not alive(app_server.url, phone.cookies[COOKIE])
    with httpx.Client(base_url=app_server.url) as fresh:
        assert login(fresh, name).status_code == 401
        assert login(fresh, name, "another long password").status_code == 303


def test_sessions_end_after_the_idle_time_and_after_the_absolute_limit(
    served_fake: ServedFake, database_url: str, tmp_path: Path
) -> None:
    settings = app_settings(served_fake, database_url, tmp_path, session_idle_minutes=5, session_max_hours=1)
    server = AppServer(settings)
    now = datetime.now(UTC)
    try:
        with signed_in(server.url, make_user(settings, "viewer")) as http:
            cookie = http.cookies[COOKIE]
            age_session(settings, cookie, now - timedelta(minutes=59), now - timedelta(minutes=4, seconds=50))
            assert alive(server.url, cookie)  # near both limits, and this visit is activity
            age_session(settings, cookie, now - timedelta(minutes=30), now - timedelta(minutes=5, seconds=10))
            assert not alive(server.url, cookie)  # idle for more than 5 minutes
        with signed_in(server.url, make_user(settings, "viewer")) as http:
            cookie = http.cookies[COOKIE]
            age_session(settings, cookie, now - timedelta(hours=1, seconds=10), now)
            assert not alive(server.url, cookie)  # busy all along, but started more than an hour ago
            page = http.get("/tasks", headers={"HX-Request": "true"})
            assert page.status_code == 401 and page.headers["HX-Redirect"] == "/login?next=/tasks"
    finally:
        server.stop()


def test_a_session_in_use_outlives_a_one_minute_idle_time(
    served_fake: ServedFake, database_url: str, tmp_path: Path
) -> None:
    settings = app_settings(served_fake, database_url, tmp_path, session_idle_minutes=1)
    server = AppServer(settings)
    try:
        with signed_in(server.url, make_user(settings, "viewer")) as http:
            cookie = http.cookies[COOKIE]
            for _ in range(6):  # a person clicking every 20 s for two minutes
                pass_time(settings, cookie, timedelta(seconds=20))
                assert alive(server.url, cookie)
            pass_time(settings, cookie, timedelta(seconds=61))
            assert not alive(server.url, cookie)  # then a minute away: signed out
    finally:
        server.stop()
