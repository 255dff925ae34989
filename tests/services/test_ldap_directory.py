"""The LDAP client against a real slapd: TLS that checks the directory's certificate and name, filters that
escape what is typed, refusals that say why, groups read page by page, and a silent directory that neither
hangs a sign-in nor holds the event loop."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from fakepve.certs import make_cert

from app.config import load_settings
from app.db.models import Role
from app.services.accounts import ldap as ldap_module
from app.services.accounts.ldap import LdapConfig, LdapDirectory, LdapRefused
from app.services.errors import Unauthenticated
from tests.ldap_directory import PASSWORD, PEOPLE, Directory, directory_settings, person_dn


def directory_of(slapd: Directory, **changes: object) -> LdapDirectory:
    """The app's client of this directory, with its LDAP settings changed as given."""
    values = {**directory_settings(slapd), **changes}
    settings = load_settings(credentials_file=Path("/nonexistent/credentials"), **values)
    config = LdapConfig.from_settings(settings)
    assert config is not None
    return LdapDirectory(config)


async def refusal(directory: LdapDirectory, name: str) -> LdapRefused:
    """What the directory's sign-in refuses with."""
    with pytest.raises(LdapRefused) as refused:
        await directory.authenticate(name, PASSWORD)
    return refused.value


async def test_starttls_and_ldaps_sign_in_only_with_the_directory_certificate_and_name(
    slapd: Directory, tmp_path: Path
) -> None:
    name = slapd.person(["dba"])
    for ways in ({}, {"ldap_url": slapd.tls_url, "ldap_start_tls": False}):
        person = await directory_of(slapd, **ways).authenticate(name, PASSWORD)
        assert person.dn == person_dn(name) and person.role == Role.approver
    other_ca, _, _ = make_cert(str(tmp_path), name="other")
    for ways, said in (
        ({"ldap_ca_bundle": other_ca}, "certificate verify failed"),
        ({"ldap_url": slapd.tls_url, "ldap_start_tls": False, "ldap_ca_bundle": None}, "self-signed"),
        (
            {"ldap_url": slapd.tls_url.replace("127.0.0.1", "127.0.0.2"), "ldap_start_tls": False},
            "IP address mismatch",
        ),
    ):
        refused = await refusal(directory_of(slapd, **ways), name)
        assert refused.reason == "directory-unreachable" and said in refused.message


async def test_what_is_typed_is_escaped_in_the_filter(slapd: Directory) -> None:
    name = slapd.person(["ops"])
    directory = directory_of(slapd)
    assert (await directory.lookup(name)) is not None
    for typed in ("*", f"{name})(uid=*", f"{name[:-1]}*", "\\2a"):
        assert await directory.lookup(typed) is None, typed
        with pytest.raises(Unauthenticated, match="Wrong username or password."):
            await directory.authenticate(typed, PASSWORD)


async def test_an_empty_password_never_reaches_the_directory(slapd: Directory) -> None:
    name = slapd.person(["proxmox-admins"])
    before = slapd.binds_as(person_dn(name))
    with pytest.raises(Unauthenticated) as refused:
        await directory_of(slapd).authenticate(name, "")
    assert type(refused.value) is Unauthenticated and slapd.binds_as(person_dn(name)) == before


async def test_refusals_name_what_went_wrong(slapd: Directory) -> None:
    name = slapd.person(["ops"])
    wrong_account = await refusal(directory_of(slapd, ldap_bind_password="not it"), name)
    assert wrong_account.reason == "directory-error"
    assert "service account (PROXGATE_LDAP_BIND_DN): invalidCredentials" in wrong_account.message
    nobody = await refusal(directory_of(slapd, ldap_url="ldap://127.0.0.1:1"), name)
    assert nobody.reason == "directory-unreachable" and "Connection refused" in nobody.message
    broad = directory_of(slapd, ldap_user_filter="(|(uid={username})(objectClass=inetOrgPerson))")
    assert (await refusal(broad, name)).reason == "ambiguous"
    missing_base = await refusal(directory_of(slapd, ldap_user_base=f"ou=nowhere,{PEOPLE}"), name)
    assert missing_base.reason == "directory-error" and "PROXGATE_LDAP_USER_BASE" in missing_base.message


async def test_groups_by_name_and_page_by_page(slapd: Directory, monkeypatch: pytest.MonkeyPatch) -> None:
    name = slapd.person(["ops", "dba", "not-mapped", "Dev Team"])
    by_name = directory_of(slapd, ldap_group_filter=f"(member=uid={{username}},{PEOPLE})")
    person = await by_name.lookup(name)
    assert person is not None and person.groups == ("Dev Team", "dba", "not-mapped", "ops")
    monkeypatch.setattr(ldap_module, "PAGE_SIZE", 1)
    paged = await directory_of(slapd).lookup(name)
    assert paged is not None and paged.groups == person.groups and paged.mapped == ("dba", "ops")


async def test_a_silent_directory_times_out_without_holding_the_event_loop(slapd: Directory) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        directory = directory_of(slapd, ldap_url=f"ldap://127.0.0.1:{port}", ldap_timeout=1)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        with pytest.raises(LdapRefused) as refused:
            await directory.lookup("anyone")
        took = time.monotonic() - started
        ticker.cancel()
    assert refused.value.reason == "directory-unreachable"
    assert 0.9 < took < 5
    assert ticks >= took / 0.05 * 0.5, "the event loop kept running while the directory was silent"
