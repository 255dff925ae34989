"""User administration: only admins, clear refusals, and changes that take effect at once."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from app.config import Settings
from tests.conftest import app_settings
from tests.factories import PASSWORD, login, make_token, make_user, signed_in, unique_name
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer


def user_id(admin: httpx.Client, name: str) -> str:
    """The id of a user, read from the admin page as a person would find its form."""
    page = admin.get("/admin/users", params={"q": name}).text
    match = re.search(rf'<tr data-user="{name}">.*?/admin/users/(\d+)"', page, re.S)
    assert match, f"{name} is not listed"
    return match.group(1)


def words(page: str) -> str:
    """The page's text as a person reads it: tags dropped, white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_viewer_sees_no_users_menu_and_gets_403(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "approver")) as http:
        page = http.get("/account").text
        assert ">Users</a>" not in page
        refused = http.get("/admin/users")
        assert refused.status_code == 403
        assert "This needs the admin role; you are approver." in refused.text
        assert http.post("/admin/users", data={"username": "x", "password": PASSWORD}).status_code == 403


def test_admin_menu_shows_users(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "admin")) as http:
        assert '<a href="/admin/users"' in http.get("/account").text


def test_bad_new_user_is_refused_beside_the_field(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "admin")) as http:
        short = http.post(
            "/admin/users", data={"username": unique_name("eve"), "role": "viewer", "password": "short"}
        )
        assert short.status_code == 422
        assert "Use at least 8 characters." in short.text
        bad_role = http.post(
            "/admin/users", data={"username": "mallory", "role": "root", "password": PASSWORD}
        )
        assert bad_role.status_code == 422 and "Unknown role &#39;root&#39;" in bad_role.text
        taken = make_user(settings, "viewer")
        dup = http.post("/admin/users", data={"username": taken, "role": "viewer", "password": PASSWORD})
        assert dup.status_code == 422 and "already exists" in dup.text


def test_deactivating_a_user_ends_their_sessions(app_server: AppServer, settings: Settings) -> None:
    victim = make_user(settings, "operator")
    with (
        signed_in(app_server.url, victim) as theirs,
        signed_in(app_server.url, make_user(settings, "admin")) as admin,
    ):
        assert theirs.get("/account").status_code == 200
        answer = admin.post(f"/admin/users/{user_id(admin, victim)}", data={"active": "0"})
        assert f"{victim} is now operator (deactivated)." in answer.text
        assert theirs.get("/account").status_code == 303
    with httpx.Client(base_url=app_server.url) as fresh:
        assert login(fresh, victim).status_code == 401


def test_reset_password_ends_sessions_and_new_password_works(
    app_server: AppServer, settings: Settings
) -> None:
    name = make_user(settings, "viewer")
    token = {"Authorization": f"Bearer {make_token(settings, name)}"}
    with (
        signed_in(app_server.url, name) as theirs,
        signed_in(app_server.url, make_user(settings, "admin")) as admin,
    ):
        answer = admin.post(f"/admin/users/{user_id(admin, name)}", data={"password": "brand new password"})
        assert (
            f"Password of {name} changed; their sessions were ended and their 1 API token revoked."
            in answer.text
        )
        assert theirs.get("/account").status_code == 303
        # A reset password may have leaked with the tokens made under it: they stop working too.
        assert theirs.get("/api/v1/me", headers=token).status_code == 401
    with httpx.Client(base_url=app_server.url) as fresh:
        assert login(fresh, name, "brand new password").status_code == 303


def test_last_admin_cannot_be_demoted(served_fake: ServedFake, empty_database: str, tmp_path: Path) -> None:
    """On a database of its own (the shared one holds every admin the suite made): three admins, two are
    demoted, and the last one stays admin."""
    settings = app_settings(served_fake, empty_database, tmp_path)
    server = AppServer(settings)
    try:
        me, *others = (make_user(settings, "admin") for _ in range(3))
        with signed_in(server.url, me) as admin:
            for name in others:
                demoted = admin.post(f"/admin/users/{user_id(admin, name)}", data={"role": "viewer"})
                assert demoted.status_code == 200, demoted.text
            refused = admin.post(f"/admin/users/{user_id(admin, me)}", data={"role": "viewer"})
            assert refused.status_code == 409
            assert "This is the last active admin" in refused.text
            assert admin.get("/api/v1/me").json()["role"] == "admin"
    finally:
        server.stop()


def test_personal_token_is_shown_once_and_can_be_revoked(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        created = http.post("/account/tokens", data={"name": "backup-script", "role": "viewer"})
        secret = re.search(r'<code class="token-value">(pxg_[^<]+)</code>', created.text)
        assert secret, "the new token is shown"
        again = http.get("/account").text
        assert secret.group(1) not in again
        headers = {"Authorization": f"Bearer {secret.group(1)}"}
        assert http.get("/api/v1/me", headers=headers).json()["role"] == "viewer"
        token_id = re.search(r"/account/tokens/(\d+)/revoke", again)
        assert token_id
        http.post(f"/account/tokens/{token_id.group(1)}/revoke")
    with httpx.Client(base_url=app_server.url) as anon:
        assert anon.get("/api/v1/me", headers=headers).status_code == 401


def test_an_approvers_new_token_is_an_operator_unless_they_choose_more(
    app_server: AppServer, settings: Settings
) -> None:
    with signed_in(app_server.url, make_user(settings, "approver")) as http:
        page = http.get("/account").text
        assert '<option value="operator" selected>' in page and 'id="token-role-help"' in page
        roles = []
        for chosen in ({}, {"role": "approver"}):
            created = http.post("/account/tokens", data={"name": f"agent{len(roles)}", **chosen})
            secret = re.search(r'<code class="token-value">(pxg_[^<]+)</code>', created.text)
            assert secret, created.text
            headers = {"Authorization": f"Bearer {secret.group(1)}"}
            roles.append(http.get("/api/v1/me", headers=headers).json()["role"])
        assert roles == ["operator", "approver"]


def test_token_cannot_outrank_its_user(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        answer = http.post("/account/tokens", data={"name": "sneaky", "role": "admin"})
        assert answer.status_code == 422
        assert "A token cannot have more rights than its user (viewer)." in answer.text


def test_a_token_named_with_a_secret_is_refused_and_not_made(
    app_server: AppServer, settings: Settings
) -> None:
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        answer = http.post("/account/tokens", data={"name": "ci password=hunter2", "role": "viewer"})
        assert answer.status_code == 422
        assert "The name seems to hold a password or secret" in answer.text and "hunter2" not in answer.text
        assert "ci password" not in http.get("/account").text


def test_account_changes_land_in_the_audit_log(app_server: AppServer, settings: Settings) -> None:
    newcomer = unique_name("dave")
    with signed_in(app_server.url, make_user(settings, "admin")) as admin:
        me = admin.get("/api/v1/me").json()["username"]
        admin.post("/admin/users", data={"username": newcomer, "role": "viewer", "password": PASSWORD})
        admin.post(f"/admin/users/{user_id(admin, newcomer)}", data={"role": "operator"})
        admin.post(f"/admin/users/{user_id(admin, newcomer)}", data={"password": "new secret pw"})
        events = admin.get("/api/v1/audit", params={"actor": me, "risk": "admin"}).json()["items"]
    found = [(e["operation"], e["target_name"], e["params"]) for e in events]
    assert ("user-update", newcomer, {"role": "operator"}) in found
    assert ("user-update", newcomer, {"password": "[redacted]"}) in found
    assert ("user-add", newcomer, {"role": "viewer"}) in found
    assert all("new secret pw" not in str(e) for e in events)


def test_the_admin_page_finds_accounts_and_tokens_and_pages_long_lists(
    app_server: AppServer, settings: Settings
) -> None:
    prefix = unique_name("findme")
    names = [make_user(settings, role, f"{prefix}_{role}") for role in ("viewer", "operator", "approver")]
    make_user(settings, "viewer", f"{prefix}x{'y' * 3}")  # 'findmeN_' must not match it: '_' is no wildcard
    make_token(settings, names[1])
    with signed_in(app_server.url, make_user(settings, "admin")) as admin:
        found = admin.get("/admin/users", params={"q": f"{prefix.upper()}_"}).text
        assert re.findall(r'<tr data-user="([^"]+)">', found) == sorted(names)
        assert f"Users 1–3 of 3 matching “{prefix.upper()}_”. Show everyone" in words(found)
        assert re.findall(r'<tr data-token="[^"]+">\s*<td>[^<]+</td><td>([^<]+)</td>', found) == [names[1]]
        by_role = admin.get("/admin/users", params={"q": prefix, "role": "approver"}).text
        assert re.findall(r'<tr data-user="([^"]+)">', by_role) == [names[2]]
        assert "No user matching “nobody-at-all”." in words(admin.get("/admin/users?q=nobody-at-all").text)
        assert admin.get("/admin/users?role=emperor").status_code == 422

        while int(re.search(r"of (\d+)", admin.get("/admin/users").text).group(1)) <= 25:  # type: ignore[union-attr]
            make_user(settings, "viewer")
        first = admin.get("/admin/users?per_page=25").text
        assert len(re.findall(r"<tr data-user=", first)) == 25 and 'id="user-pager"' in first
        second = admin.get("/admin/users?per_page=25&page=2").text
        assert "Users 26–" in second
        listed = [set(re.findall(r'data-user="([^"]+)"', page)) for page in (first, second)]
        assert listed[0] and listed[1] and not listed[0] & listed[1]


def test_admin_sets_groups_on_the_users_page(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "admin")) as admin:
        name = unique_name("dba")
        made = admin.post(
            "/admin/users", data={"username": name, "role": "approver", "password": PASSWORD, "groups": "dba"}
        )
        assert made.status_code == 200
        row = re.search(rf'<tr data-user="{name}">.*?</tr>', made.text, re.S)
        assert row and '<td class="user-groups">dba</td>' in row.group(0)
        answer = admin.post(f"/admin/users/{user_id(admin, name)}", data={"groups": "dba, storage"})
        assert f"{name} is now in dba, storage." in words(answer.text)
        with signed_in(app_server.url, name) as theirs:
            assert theirs.get("/api/v1/me").json()["groups"] == ["dba", "storage"]
        refused = admin.post(f"/admin/users/{user_id(admin, name)}", data={"groups": "no/slash"})
        assert refused.status_code == 422 and "is not a group name" in refused.text
