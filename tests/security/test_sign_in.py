"""Sign-in limits that a forged X-Forwarded-For cannot dodge, and the flags of the cookies it sets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.config import Settings
from tests.conftest import app_settings
from tests.factories import PASSWORD, csrf_from, login, make_user, unique_name
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

# The proxy in front of this app is elsewhere: the tests' own address (127.0.0.1) is not a trusted one.
ANOTHER_PROXY = "10.9.9.9"


@contextmanager
def behind_another_proxy(
    served: ServedFake, database: str, data: Path, **overrides: object
) -> Iterator[AppServer]:
    """An app that trusts only ANOTHER_PROXY, on its own database (its failed sign-ins stay its own)."""
    settings = app_settings(served, database, data, trusted_proxies=ANOTHER_PROXY, **overrides)
    server = AppServer(settings)
    try:
        yield server
    finally:
        server.stop()


def session_cookie(answer: httpx.Response) -> str:
    """The Set-Cookie line of the session cookie."""
    found = [c for c in answer.headers.get_list("set-cookie") if c.startswith("proxgate_session=")]
    assert found, f"no session cookie in the answer {answer.status_code}"
    return found[0]


def test_an_account_is_throttled_from_any_number_of_addresses(
    client: httpx.Client, settings: Settings
) -> None:
    name = make_user(settings, "viewer")
    for attempt in range(settings.login_max_failures):
        client.headers["X-Forwarded-For"] = f"198.51.100.{attempt + 1}"
        assert login(client, name, "bad password").status_code == 401
    client.headers["X-Forwarded-For"] = "198.51.100.99"
    blocked = login(client, name, PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins for this account" in blocked.text


def test_an_address_behind_a_trusted_proxy_is_throttled_across_accounts(
    client: httpx.Client, settings: Settings
) -> None:
    client.headers["X-Forwarded-For"] = "198.51.100.77"
    for _ in range(settings.login_ip_max_failures):
        login(client, unique_name("nobody"), "bad password")
    name = make_user(settings, "viewer")
    blocked = login(client, name, PASSWORD)
    assert blocked.status_code == 429
    assert "from your address" in blocked.text
    client.headers["X-Forwarded-For"] = "198.51.100.78"
    assert login(client, name, PASSWORD).status_code == 303


def test_a_forged_forwarded_for_from_an_untrusted_address_does_not_dodge_the_limit(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    with behind_another_proxy(served_fake, empty_database, tmp_path, login_ip_max_failures=3) as server:
        name = make_user(app_settings(served_fake, empty_database, tmp_path), "viewer")
        with httpx.Client(base_url=server.url) as http:
            for attempt in range(3):
                http.headers["X-Forwarded-For"] = f"203.0.113.{attempt + 1}"
                assert login(http, unique_name("nobody"), "bad password").status_code == 401
            http.headers["X-Forwarded-For"] = "203.0.113.99"
            blocked = login(http, name, PASSWORD)
    assert blocked.status_code == 429
    assert "from your address" in blocked.text


def test_the_session_cookie_is_httponly_samesite_and_secure_behind_tls(
    client: httpx.Client, settings: Settings
) -> None:
    name = make_user(settings, "viewer")
    tls_page = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    prelogin = next(c for c in tls_page.headers.get_list("set-cookie") if c.startswith("proxgate_prelogin="))
    assert all(flag in prelogin for flag in ("HttpOnly", "SameSite=strict", "Path=/", "Secure"))
    client.cookies.clear()  # httpx keeps a Secure cookie from plain HTTP: sign in from a plain page
    page = client.get("/login")
    data = {"username": name, "password": PASSWORD, "csrf_token": csrf_from(page.text), "next": "/"}
    cookie = session_cookie(client.post("/login", data=data, headers={"X-Forwarded-Proto": "https"}))
    for flag in (
        "HttpOnly",
        "SameSite=lax",
        "Secure",
        "Path=/",
        f"Max-Age={settings.session_max_hours * 3600}",
    ):
        assert flag in cookie, f"{flag} missing from {cookie}"
    with httpx.Client(base_url=client.base_url) as plain:  # plain HTTP straight to the app
        assert "Secure" not in session_cookie(login(plain, name))


def test_a_forged_forwarded_proto_from_an_untrusted_address_does_not_make_cookies_secure(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    with behind_another_proxy(served_fake, empty_database, tmp_path) as server:
        name = make_user(app_settings(served_fake, empty_database, tmp_path), "viewer")
        with httpx.Client(base_url=server.url, headers={"X-Forwarded-Proto": "https"}) as http:
            prelogin = http.get("/login").headers["set-cookie"]
            assert prelogin.startswith("proxgate_prelogin=") and "Secure" not in prelogin
            cookie = session_cookie(login(http, name))
    assert "HttpOnly" in cookie and "Secure" not in cookie
