"""Single sign-on at a real OpenID provider (oidc-provider on node): users made with the role their groups map
to, roles that follow the provider at sign-in and at the 5-minute session check, refusals audited, sign-out."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import httpx
import pytest

from app.config import Settings
from app.services.accounts import OidcClient, SsoConfig, SsoRefused
from tests.factories import csrf_from, make_token, run_async
from tests.oidc_idp import Sso, audit_events, check_due, redirect_back, sign_in_at_provider
from tests.security.store import scalar, user_role

COOKIE = "proxgate_session"


def groups_of(settings: Settings, username: str) -> str:
    """The user's groups as stored."""
    return str(scalar(settings, "SELECT groups FROM users WHERE username = :u", u=username))


def account_page(sso: Sso, http: httpx.Client) -> httpx.Response:
    return http.get(f"{sso.app.url}/account")


def test_the_sign_in_page_offers_the_provider_beside_the_local_form(sso: Sso) -> None:
    page = httpx.get(f"{sso.app.url}/login?next=/tasks")
    assert "Sign in with Test ID" in page.text
    assert 'href="http://127.0.0.1' in page.text and "/login/sso?next=/tasks" in page.text
    assert 'name="password"' in page.text  # local accounts stay, for break-glass


def test_first_sign_in_makes_the_user_with_the_highest_mapped_role(sso: Sso) -> None:
    name = sso.person(["ops", "dba", "Not-Mapped", "/paths/and spaces"])
    with sso.client() as http:
        answer = sign_in_at_provider(http, sso.app.url, name)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        page = account_page(sso, http)
    assert page.status_code == 200 and name in page.text
    assert user_role(sso.settings, name) == "approver"  # dba=approver beats ops=operator
    # Kept as the user's groups for approval rules; a name that is no group name here only maps roles.
    assert groups_of(sso.settings, name) == "dba,not-mapped,ops"
    (event,) = audit_events(sso.settings, "sso.sign_in", name)
    assert event["outcome"] == "succeeded" and event["params"]["role"] == "approver"
    assert event["params"]["groups"] == ["/paths/and spaces", "Not-Mapped", "dba", "ops"]
    # The audit API filters by such an operation name too (dots and underscores, unlike guest operations).
    token = make_token(sso.settings, name)
    found = httpx.get(
        f"{sso.app.url}/api/v1/audit",
        params={"operation": "sso.sign_in"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert found.status_code == 200
    assert [e["outcome"] for e in found.json()["items"] if e["target_name"] == name] == ["succeeded"]


def test_the_role_follows_the_provider_at_the_next_sign_in(sso: Sso) -> None:
    name = sso.person(["proxmox-admins"])
    with sso.client() as http:
        sign_in_at_provider(http, sso.app.url, name)
    assert user_role(sso.settings, name) == "admin"
    sso.regroup(name, ["ops"])
    with sso.client() as http:
        assert sign_in_at_provider(http, sso.app.url, name).status_code == 303
    assert user_role(sso.settings, name) == "operator"
    token = make_token(sso.settings, name)
    assert (
        httpx.get(f"{sso.app.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    sso.regroup(name, ["not-mapped"])
    with sso.client() as http:
        refused = sign_in_at_provider(http, sso.app.url, name)
    assert refused.status_code == 401
    # No mapped group left: their API tokens stop too.
    assert (
        httpx.get(f"{sso.app.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert "None of your groups at the identity provider gives access to Proxgate." in refused.text
    assert [e["params"]["reason"] for e in audit_events(sso.settings, "sso.refused", "sign-in")][
        -1
    ] == "no-role"


def test_a_removed_group_takes_the_role_away_at_the_session_check(sso: Sso) -> None:
    name = sso.person(["proxmox-admins"])
    with sso.client() as http:
        sign_in_at_provider(http, sso.app.url, name)
        cookie = http.cookies[COOKIE]
        sso.regroup(name, ["ops"])
        assert account_page(sso, http).status_code == 200
        assert user_role(sso.settings, name) == "admin"  # the provider's word holds for 5 minutes
        check_due(sso.settings, cookie)
        assert account_page(sso, http).status_code == 200
        assert user_role(sso.settings, name) == "operator"
        assert groups_of(sso.settings, name) == "ops"
        (changed,) = audit_events(sso.settings, "sso.role_changed", name)
        assert changed["params"]["previous_role"] == "admin" and changed["params"]["role"] == "operator"
        assert http.get(f"{sso.app.url}/admin/users").status_code == 403
        sso.regroup(name, None)  # the provider no longer knows them
        check_due(sso.settings, cookie)
        gone = account_page(sso, http)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    (ended,) = audit_events(sso.settings, "sso.session_ended", name)
    assert ended["outcome"] == "refused" and ended["params"]["reason"] == "refresh-refused"


def test_an_answer_naming_another_issuer_or_state_is_refused_and_audited(sso: Sso) -> None:
    name = sso.person(["ops"])
    for bad, reason in (("iss", "wrong-issuer"), ("state", "bad-state")):
        with sso.client() as http:
            callback = redirect_back(http, sso.app.url, name)
            forged = callback.copy_set_param(bad, "http://evil.example" if bad == "iss" else "forged")
            refused = http.get(forged)
        assert refused.status_code == 401 and COOKIE not in refused.cookies
        assert audit_events(sso.settings, "sso.refused", "sign-in")[-1]["params"]["reason"] == reason


def test_a_provider_that_names_another_issuer_is_refused(sso: Sso) -> None:
    config = SsoConfig.from_settings(sso.settings)
    assert config is not None
    elsewhere = OidcClient(replace(config, issuer=sso.provider.issuer.replace("127.0.0.1", "localhost")))
    with pytest.raises(SsoRefused) as refused:
        run_async(elsewhere.begin(f"{sso.app.url}/login/sso/callback"))
    assert refused.value.reason == "wrong-issuer"


def test_an_id_token_with_a_tampered_signature_or_for_another_client_is_refused(sso: Sso) -> None:
    name = sso.person(["ops"])
    with sso.client() as http:
        sign_in_at_provider(http, sso.app.url, name)
        key = hashlib.sha256(http.cookies[COOKIE].encode()).hexdigest()
    id_token = str(scalar(sso.settings, "SELECT sso_id_token FROM web_sessions WHERE id = :id", id=key))
    config = SsoConfig.from_settings(sso.settings)
    assert config is not None
    claims = run_async(OidcClient(config).verify_id_token(id_token, None))
    assert claims["preferred_username"] == name  # the real token passes
    head, body, signature = id_token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(SsoRefused) as tampered:
        run_async(OidcClient(config).verify_id_token(f"{head}.{body}.{flipped}", None))
    assert tampered.value.reason == "bad-signature"
    with pytest.raises(SsoRefused) as other:
        run_async(OidcClient(replace(config, client_id="someone-else")).verify_id_token(id_token, None))
    assert other.value.reason == "bad-claims"


def test_sign_out_ends_the_session_and_signs_out_at_the_provider(sso: Sso) -> None:
    name = sso.person(["ops"])
    with sso.client() as http:
        sign_in_at_provider(http, sso.app.url, name)
        token = csrf_from(account_page(sso, http).text)
        out = http.post(f"{sso.app.url}/logout", data={"csrf_token": token})
        assert out.status_code == 303
        target = httpx.URL(out.headers["location"])
        assert str(target).startswith(f"{sso.provider.issuer}/session/end")
        assert target.params["post_logout_redirect_uri"] == f"{sso.app.url}/login"
        assert target.params["id_token_hint"]
        assert account_page(sso, http).status_code == 303  # the local session is over at once
        confirm = http.get(target)
        assert confirm.status_code == 200 and "logout" in confirm.text.lower()
