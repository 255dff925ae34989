"""Signing in with the password form against a real LDAP directory (Debian's slapd, over StartTLS): users made
with the role their groups map to, refusals, roles that follow the directory at the 5-minute session check, and
local accounts that stay local."""

from __future__ import annotations

import subprocess

import httpx

from tests.factories import PASSWORD as LOCAL_PASSWORD
from tests.factories import csrf_from, login, make_token, make_user
from tests.ldap_directory import PASSWORD, Ldap, person_dn
from tests.oidc_idp import audit_events, check_due
from tests.security.store import scalar, user_role
from tests.servers import AppServer

COOKIE = "proxgate_session"


def browser(ldap: Ldap) -> httpx.Client:
    """A browser-like client of the app, not following redirects."""
    return httpx.Client(base_url=ldap.app.url, follow_redirects=False, timeout=30)


def stored(ldap: Ldap, column: str, username: str) -> object:
    """One column of the user's row."""
    return scalar(ldap.settings, f"SELECT {column} FROM users WHERE username = :u", u=username)  # noqa: S608


def me(token: str, ldap: Ldap) -> int:
    """The status /api/v1/me answers this API token with."""
    return httpx.get(f"{ldap.app.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_first_sign_in_makes_the_user_with_the_highest_mapped_role(ldap: Ldap) -> None:
    name = ldap.directory.person(["ops", "dba", "Dev Team", "not-mapped"])
    with browser(ldap) as http:
        answer = login(http, name.upper(), PASSWORD)  # names are matched as the directory matches them
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        page = http.get("/account")
    assert page.status_code == 200 and name in page.text
    assert user_role(ldap.settings, name) == "approver"  # dba=approver beats ops=operator
    # Kept as the user's groups for approval rules; a name that is no group name here only maps roles.
    assert stored(ldap, "groups", name) == "dba,not-mapped,ops"
    assert stored(ldap, "ldap_dn", name) == person_dn(name)
    (event,) = audit_events(ldap.settings, "ldap.sign_in", name)
    assert event["outcome"] == "succeeded" and event["params"]["role"] == "approver"
    assert event["params"]["groups"] == ["Dev Team", "dba", "not-mapped", "ops"]


def test_a_wrong_password_is_refused_like_a_local_one(ldap: Ldap) -> None:
    name = ldap.directory.person(["ops"])
    with browser(ldap) as http:
        refused = login(http, name, "not the directory password")
    assert refused.status_code == 401 and COOKIE not in refused.cookies
    assert "Wrong username or password." in refused.text
    assert stored(ldap, "count(*)", name) == 0  # nobody was made
    assert ldap.directory.binds_as(person_dn(name)) == 1  # the directory was asked, and said no


def test_an_empty_password_is_refused_before_any_bind(ldap: Ldap) -> None:
    name = ldap.directory.person(["proxmox-admins"])
    dn = person_dn(name)
    # The trap is armed: this directory takes a DN with an empty password as an anonymous bind, and says yes.
    whoami = ["ldapwhoami", "-x", "-H", ldap.directory.url, "-D", dn, "-w", ""]
    trap = subprocess.run(whoami, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    assert trap.returncode == 0 and trap.stdout.strip() == "anonymous"
    before = ldap.directory.binds_as(dn)
    with browser(ldap) as http:
        token = csrf_from(http.get("/login").text)
        refused = http.post("/login", data={"username": name, "password": "", "csrf_token": token})
    assert refused.status_code == 401 and COOKIE not in refused.cookies
    assert "Enter your username and password." in refused.text
    assert ldap.directory.binds_as(dn) == before
    assert stored(ldap, "count(*)", name) == 0


def test_someone_in_no_mapped_group_is_refused_with_a_plain_message(ldap: Ldap) -> None:
    name = ldap.directory.person(["not-mapped", "Dev Team"])
    with browser(ldap) as http:
        refused = login(http, name, PASSWORD)
    assert refused.status_code == 401 and COOKIE not in refused.cookies
    assert "None of your groups in the directory gives access to Proxgate." in refused.text
    assert stored(ldap, "count(*)", name) == 0
    assert audit_events(ldap.settings, "ldap.refused", "sign-in")[-1]["params"]["reason"] == "no-role"


def test_a_removed_group_takes_the_role_away_at_the_session_check(ldap: Ldap) -> None:
    directory = ldap.directory
    name = directory.person(["proxmox-admins"])
    with browser(ldap) as http:
        assert login(http, name, PASSWORD).status_code == 303
        cookie = http.cookies[COOKIE]
        token = make_token(ldap.settings, name)
        directory.leave(name, ["proxmox-admins"])
        directory.join(name, ["ops"])
        assert http.get("/account").status_code == 200
        assert user_role(ldap.settings, name) == "admin"  # the directory's word holds for 5 minutes
        check_due(ldap.settings, cookie)
        assert http.get("/account").status_code == 200
        assert user_role(ldap.settings, name) == "operator"
        assert stored(ldap, "groups", name) == "ops"
        (changed,) = audit_events(ldap.settings, "ldap.role_changed", name)
        assert changed["params"]["previous_role"] == "admin" and changed["params"]["role"] == "operator"
        assert http.get("/admin/users").status_code == 403
        assert me(token, ldap) == 200
        directory.leave(name, ["ops"])
        check_due(ldap.settings, cookie)
        gone = http.get("/account")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    (ended,) = audit_events(ldap.settings, "ldap.session_ended", name)
    assert ended["outcome"] == "refused" and ended["params"]["reason"] == "no-role"
    assert me(token, ldap) == 401  # no mapped group left: their API tokens stop too


def test_a_disabled_or_removed_person_loses_access_at_the_session_check(ldap: Ldap) -> None:
    directory = ldap.directory
    for lose in (directory.disable, directory.remove):
        name = directory.person(["ops"])
        with browser(ldap) as http:
            assert login(http, name, PASSWORD).status_code == 303
            token = make_token(ldap.settings, name)
            lose(name)
            check_due(ldap.settings, http.cookies[COOKIE])
            gone = http.get("/account")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
        (ended,) = audit_events(ldap.settings, "ldap.session_ended", name)
        assert ended["params"]["reason"] == "not-found"
        assert me(token, ldap) == 401
        with browser(ldap) as http:
            assert login(http, name, PASSWORD).status_code == 401


def test_local_accounts_sign_in_locally_even_when_the_directory_has_the_name(ldap: Ldap) -> None:
    local = make_user(ldap.settings, "operator")
    with browser(ldap) as http:
        assert login(http, local, LOCAL_PASSWORD).status_code == 303
        assert local in http.get("/account").text
    # The same name in the directory: its password does not open the local account, which stays local.
    name = ldap.directory.person(["proxmox-admins"])
    make_user(ldap.settings, "viewer", name=name)
    with browser(ldap) as http:
        assert login(http, name, PASSWORD).status_code == 401
    assert ldap.directory.binds_as(person_dn(name)) == 0
    with browser(ldap) as http:
        assert login(http, name, LOCAL_PASSWORD).status_code == 303
    assert user_role(ldap.settings, name) == "viewer" and stored(ldap, "ldap_dn", name) is None


def test_failed_directory_passwords_are_throttled_before_the_directory_is_asked(ldap: Ldap) -> None:
    name = ldap.directory.person(["ops"])
    limit = ldap.settings.login_max_failures
    with browser(ldap) as http:
        for _ in range(limit):
            assert login(http, name, "guessing").status_code == 401
        assert ldap.directory.binds_as(person_dn(name)) == limit
        throttled = login(http, name, PASSWORD)
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text
    # The directory's own lockout (Active Directory's) is never reached through Proxgate.
    assert ldap.directory.binds_as(person_dn(name)) == limit


def test_a_directory_that_cannot_be_reached_is_said_and_ends_only_the_session_checked(ldap: Ldap) -> None:
    name = ldap.directory.person(["ops"])
    with browser(ldap) as http:
        assert login(http, name, PASSWORD).status_code == 303
        cookie = http.cookies[COOKIE]
    token = make_token(ldap.settings, name)
    # The same deployment (database, keys) with its directory gone.
    away = AppServer(ldap.settings.model_copy(update={"ldap_url": "ldap://127.0.0.1:1"}))
    try:
        with httpx.Client(base_url=away.url, follow_redirects=False, timeout=30) as http:
            refused = login(http, ldap.directory.person(["ops"]), PASSWORD)
            assert refused.status_code == 503 and "The directory could not be reached" in refused.text
            http.cookies.set(COOKIE, cookie)
            check_due(ldap.settings, cookie)
            assert http.get("/account").status_code == 303
        (ended,) = audit_events(ldap.settings, "ldap.session_ended", name)
        assert ended["params"]["reason"] == "directory-unreachable"
        assert audit_events(ldap.settings, "ldap.refused", "sign-in")[-1]["params"]["reason"] == (
            "directory-unreachable"
        )
        assert me(token, ldap) == 200  # the directory said nothing about them: their tokens stay
    finally:
        away.stop()
