"""Every route that changes something refuses a viewer with 403 (the routes are walked, not listed)."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from app.config import Settings
from app.routing import discover_routers
from tests.factories import make_token, make_user, signed_in
from tests.servers import AppServer

# Changes to one's own account (sign-in, sign-out, password, personal tokens) are open to every role.
SELF_SERVICE = {
    "/login",
    "/logout",
    "/account/password",
    "/account/tokens",
    "/account/tokens/{token_id}/revoke",
}
SAMPLE = {"vmid": "100", "operation": "start", "user_id": "1", "token_id": "1", "request_id": "1"}


def change_routes() -> list[tuple[str, str]]:
    """(method, path) of every state-changing route the app mounts."""
    found = []
    for router in discover_routers():
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods - {"GET", "HEAD", "OPTIONS"}):
                    found.append((method, route.path))
    return found


def concrete(path: str) -> str:
    """The path with sample values for its parameters (a guest operation under a guest, else a create)."""
    values = SAMPLE if "{vmid}" in path else {**SAMPLE, "operation": "create-ct"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def test_there_are_change_routes_to_check() -> None:
    paths = {path for _method, path in change_routes()}
    assert "/guests/{vmid}/actions/{operation}" in paths
    assert "/api/v1/guests/{vmid}/actions/{operation}" in paths
    assert "/admin/users" in paths


def test_viewer_gets_403_on_every_change_route(app_server: AppServer, settings: Settings) -> None:
    name = make_user(settings, "viewer")
    token = make_token(settings, name)
    checked = 0
    with signed_in(app_server.url, name) as session:
        for method, path in change_routes():
            if path in SELF_SERVICE:
                continue
            url = concrete(path)
            api = url.startswith("/api/")
            by_session = (
                session.request(method, url, json={})
                if api
                else session.request(method, url, data={"x": "1"})
            )
            by_token = (
                session.request(method, url, json={}, headers={"Authorization": f"Bearer {token}"})
                if url.startswith("/api/")
                else None
            )
            assert by_session.status_code == 403, f"{method} {path} gave {by_session.status_code} to a viewer"
            if by_token is not None:
                assert by_token.status_code == 403, (
                    f"{method} {path} gave {by_token.status_code} to a viewer's token"
                )
            checked += 1
    assert checked >= 6
