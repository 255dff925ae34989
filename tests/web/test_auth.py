"""Sign-in, sign-out, sessions, throttling, CSRF and security headers, over real HTTP."""

from __future__ import annotations

import httpx

from app.config import Settings
from tests.factories import PASSWORD, csrf_from, login, make_token, make_user, signed_in, unique_name


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


def test_the_api_document_and_its_page_are_for_signed_in_callers(
    client: httpx.Client, settings: Settings
) -> None:
    document = client.get("/openapi.json")
    assert document.status_code == 401 and document.json() == {"detail": "Sign in first."}
    page = client.get("/api/docs")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/api/docs"
    bad = client.get("/openapi.json", headers={"Authorization": "Bearer pxg_not-a-token"})
    assert bad.status_code == 401

    viewer = make_user(settings, "viewer")
    token = {"Authorization": f"Bearer {make_token(settings, viewer)}"}
    assert "/api/v1/guests" in client.get("/openapi.json", headers=token).json()["paths"]
    # A token is for the API and its document, not for pages.
    assert client.get("/api/docs", headers=token).headers["location"] == "/login?next=/api/docs"
    with signed_in(str(client.base_url), viewer) as http:
        assert "/api/v1/guests" in http.get("/openapi.json").json()["paths"]
        drawn = http.get("/api/docs")
        assert drawn.status_code == 200 and 'data-spec="/openapi.json"' in drawn.text


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
