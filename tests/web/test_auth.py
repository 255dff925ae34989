"""Sign-in, sign-out, sessions, throttling, CSRF and security headers, over real HTTP."""

from __future__ import annotations

import httpx

from app.config import Settings
from tests.factories import PASSWORD, csrf_from, login, make_user, unique_name


def test_pages_need_sign_in_and_come_back_after_it(client: httpx.Client, settings: Settings) -> None:
    answer = client.get("/account")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/account"
    name = make_user(settings, "viewer")
    page = client.get("/login?next=/account")
    done = client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": csrf_from(page.text), "next": "/account"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert name in client.get("/account").text


def test_wrong_password_says_so_and_sets_no_session(client: httpx.Client, settings: Settings) -> None:
    name = make_user(settings, "operator")
    answer = login(client, name, "not the password")
    assert answer.status_code == 401
    assert "Wrong username or password." in answer.text
    assert "proxgate_session" not in client.cookies
    assert client.get("/account").status_code == 303


def test_unknown_user_gets_the_same_message(client: httpx.Client) -> None:
    answer = login(client, unique_name("ghost"), "whatever-password")
    assert answer.status_code == 401
    assert "Wrong username or password." in answer.text


def test_open_redirect_is_refused(client: httpx.Client, settings: Settings) -> None:
    name = make_user(settings, "viewer")
    page = client.get("/login")
    data = {
        "username": name,
        "password": PASSWORD,
        "csrf_token": csrf_from(page.text),
        "next": "//evil.example/x",
    }
    assert client.post("/login", data=data).headers["location"] == "/"


def test_security_headers_and_request_id(client: httpx.Client) -> None:
    answer = client.get("/login", headers={"X-Request-ID": "trace-12345678"})
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["x-request-id"] == "trace-12345678"
    assert "<script>" not in answer.text and " style=" not in answer.text
    assert '<meta name="csrf-token" content="' in answer.text
