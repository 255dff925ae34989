"""GET /api/v1/cluster and /api/v1/nodes with bearer tokens and sessions."""

from __future__ import annotations

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import make_token, make_user, signed_in
from tests.servers import AppServer


def test_cluster_with_a_bearer_token(client: httpx.Client, settings: Settings, pve: DemoPve) -> None:
    token = make_token(settings, make_user(settings, "viewer"))
    answer = client.get("/api/v1/cluster", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["quorate"] is True
    assert body["nodes_total"] == len(pve.nodes) == body["nodes_online"]
    assert (
        body["guests"]["running"] + body["guests"]["stopped"]
        == body["guests"]["vms"] + body["guests"]["containers"]
    )


def test_nodes_lists_each_node(client: httpx.Client, settings: Settings, pve: DemoPve) -> None:
    token = make_token(settings, make_user(settings, "viewer"))
    nodes = client.get("/api/v1/nodes", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    assert sorted(n["node"] for n in nodes) == sorted(pve.nodes)
    assert all(n["status"] == "online" and n["maxmem"] > 0 for n in nodes)


def test_api_without_credentials_is_401_json(client: httpx.Client) -> None:
    answer = client.get("/api/v1/cluster")
    assert answer.status_code == 401
    assert answer.json() == {"detail": "Sign in first."}


def test_revoked_or_unknown_token_is_refused(client: httpx.Client) -> None:
    answer = client.get("/api/v1/me", headers={"Authorization": "Bearer pxg_not-a-real-token"})
    assert answer.status_code == 401
    assert "unknown or revoked" in answer.json()["detail"]


def test_token_never_has_more_rights_than_its_user(client: httpx.Client, settings: Settings) -> None:
    name = make_user(settings, "admin")
    token = make_token(settings, name, "admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json() == {
        "username": name,
        "role": "admin",
        "auth": "token",
        "groups": [],
    }
    with signed_in(client.base_url.__str__().rstrip("/"), make_user(settings, "admin")) as admin:
        page = admin.get("/admin/users", params={"q": name}).text
        user_id = page.split(f'<tr data-user="{name}">', 1)[1].split("/admin/users/", 1)[1].split('"', 1)[0]
        assert admin.post(f"/admin/users/{user_id}", data={"role": "viewer"}).status_code == 200
    assert client.get("/api/v1/me", headers=headers).json()["role"] == "viewer"


def test_session_works_on_the_api_too(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        assert http.get("/api/v1/me").json()["auth"] == "session"
