"""Input the databases choke on never reaches a 500, and every answer carries the headers it should."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter

from app.config import Settings
from app.main import create_app
from tests.conftest import app_settings
from tests.factories import csrf_from, make_token, make_user, signed_in
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

HUGE = "99999999999999999999999"
SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "X-Request-ID")


@pytest.fixture
def admin(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in admin."""
    with signed_in(app_server.url, make_user(settings, "admin")) as http:
        yield http


@pytest.mark.parametrize("value", [HUGE, f"-{HUGE}", "9223372036854775808"])
def test_integers_beyond_64_bits_are_refused_with_422(
    admin: httpx.Client, client: httpx.Client, settings: Settings, value: str
) -> None:
    page = admin.get("/audit", params={"before": value})
    assert page.status_code == 422 and "before: a number must fit in 64 bits" in page.text
    token = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'viewer'))}"}
    api = client.get("/api/v1/audit", params={"limit": value}, headers=token)
    assert api.status_code == 422
    assert api.json()["detail"].startswith("limit: a number must fit in 64 bits")
    assert admin.post(f"/admin/users/{value}", data={"role": "viewer"}).status_code == 422
    assert admin.post(f"/admin/tokens/{value}/revoke").status_code == 422
    assert admin.post(f"/account/tokens/{value}/revoke").status_code == 422
    assert client.get(f"/api/v1/guests/{value}", headers=token).status_code == 422


def test_the_largest_64_bit_integer_is_still_a_number(admin: httpx.Client) -> None:
    assert admin.get("/audit", params={"before": str(2**63 - 1)}).status_code == 200
    assert admin.get("/audit", params={"q": HUGE}).status_code == 200  # a text field may hold digits


def test_nul_characters_are_refused_with_422_wherever_text_is_typed(
    admin: httpx.Client, client: httpx.Client, settings: Settings
) -> None:
    for params in ({"q": "a\x00b"}, {"actor": "\x00"}, {"operation": "st\x00art"}):
        answer = admin.get("/audit", params=params)
        assert answer.status_code == 422 and "may not contain NUL characters" in answer.text, params
    made = admin.post("/admin/users", data={"username": "eve\x00", "role": "viewer", "password": "x" * 12})
    assert made.status_code == 422 and "username: text may not contain NUL characters" in made.text
    token = admin.post("/account/tokens", data={"name": "ci\x00bot"})
    assert token.status_code == 422 and "name: text may not contain NUL characters" in token.text
    form = client.get("/login")
    answer = client.post(
        "/login", data={"username": "admin\x00", "password": "x", "csrf_token": csrf_from(form.text)}
    )
    assert answer.status_code == 422 and "username: text may not contain NUL characters" in answer.text
    bearer = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'operator'))}"}
    api = client.post("/api/v1/guests/100/actions/snapshot", json={"snapname": "a\x00b"}, headers=bearer)
    assert api.status_code == 422 and "NUL" in api.json()["detail"]


def test_every_answer_carries_the_security_headers_500s_too(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    settings = app_settings(served_fake, empty_database, tmp_path / "data")
    app = create_app(settings)
    broken = APIRouter()

    @broken.get("/broken")
    async def fail() -> None:
        raise RuntimeError("a bug")

    app.include_router(broken)
    server = AppServer(settings, app=app)
    try:
        with httpx.Client(base_url=server.url) as http:
            answer = http.get("/broken", headers={"X-Request-ID": "req-12345678"})
    finally:
        server.stop()
    assert answer.status_code == 500
    assert "Something went wrong on our side (request req-12345678)" in answer.text
    for name in SECURITY_HEADERS:
        assert name in answer.headers, name
    assert answer.headers["X-Request-ID"] == "req-12345678"
    assert answer.headers["Cache-Control"] == "no-store"


def test_pages_are_not_stored_and_head_works_where_get_does(
    admin: httpx.Client, client: httpx.Client
) -> None:
    for path in ("/", "/audit", "/account", "/admin/users", "/api/v1/me"):
        answer = admin.get(path)
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store", path
    created = admin.post("/account/tokens", data={"name": "shown-once"})
    assert "pxg_" in created.text and created.headers["Cache-Control"] == "no-store"
    for path in ("/healthz", "/account", "/audit", "/api/v1/me"):
        get, head = admin.get(path), admin.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]
    assert client.head("/login").status_code == 200
    assert client.head("/audit").status_code == 303  # anonymous: sent to sign in, as a GET would be
    assert "Cache-Control" not in client.get("/static/js/app.js").headers
