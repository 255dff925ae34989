"""Settings: credentials file, TLS options, and one clear line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load_settings, parse_credentials

FP = ":".join(["AB"] * 32)


def clean(tmp_path: Path, **values: object) -> dict[str, object]:
    """Overrides that ignore the developer's own environment and credentials file."""
    base: dict[str, object] = {
        "credentials_file": tmp_path / "none",
        "data_dir": tmp_path / "data",
        "proxmox_host": None,
        "proxmox_token_id": None,
        "proxmox_token_secret": None,
    }
    base.update(values)
    return base


def test_parse_credentials_accepts_quotes_comments_and_export() -> None:
    text = """
    # proxmox-ops style file
    PROXMOX_HOST="pve.lan:8006"
    export PROXMOX_TOKEN_ID='ops@pve!cli'
    PROXMOX_TOKEN_SECRET=1234-abcd   # trailing comment
    """
    assert parse_credentials(text) == {
        "PROXMOX_HOST": "pve.lan:8006",
        "PROXMOX_TOKEN_ID": "ops@pve!cli",
        "PROXMOX_TOKEN_SECRET": "1234-abcd",
    }


def test_credentials_file_fills_what_the_environment_lacks(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.write_text("PROXMOX_HOST=pve.lan\nPROXMOX_TOKEN_ID=ops@pve!cli\nPROXMOX_TOKEN_SECRET=s3cret\n")
    creds.chmod(0o600)
    settings = load_settings(**clean(tmp_path, credentials_file=creds, proxmox_host="other.lan"))
    assert settings.proxmox_host == "other.lan"
    assert settings.proxmox_token_id == "ops@pve!cli"
    assert settings.proxmox_token_secret is not None
    assert settings.proxmox_token_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_group_readable_credentials_file_is_refused_with_chmod_hint(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.write_text("PROXMOX_HOST=pve.lan\n")
    creds.chmod(0o640)
    with pytest.raises(ConfigError) as caught:
        load_settings(**clean(tmp_path, credentials_file=creds))
    message = str(caught.value)
    assert "chmod 600" in message and str(creds) in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("proxmox_tls_fingerprint", "AB:CD", "PROXMOX_TLS_FINGERPRINT"),
        ("proxmox_token_id", "no-realm-token", "PROXMOX_TOKEN_ID"),
        ("proxmox_timeout", -1, "PROXMOX_TIMEOUT"),
        ("proxmox_ca_bundle", "/nonexistent/ca.pem", "PROXMOX_CA_BUNDLE"),
        ("oidc_role_map", "proxmox-admins=admin,dba=emperor", "PROXGATE_OIDC_ROLE_MAP"),
        ("oidc_role_map", "admins", "PROXGATE_OIDC_ROLE_MAP"),
        ("oidc_issuer", "id.example.com", "PROXGATE_OIDC_ISSUER"),
        ("ldap_url", "https://dc1.example.lan", "PROXGATE_LDAP_URL"),
        ("ldap_url", "ldap://dc1.example.lan/dc=example", "PROXGATE_LDAP_URL"),
        ("ldap_user_filter", "(sAMAccountName=alice)", "PROXGATE_LDAP_USER_FILTER"),
        ("ldap_user_filter", "(uid={user})", "PROXGATE_LDAP_USER_FILTER"),
        ("ldap_user_filter", "uid={username}", "PROXGATE_LDAP_USER_FILTER"),
        ("ldap_group_filter", "(&(objectClass=group)(member={dn})", "PROXGATE_LDAP_GROUP_FILTER"),
        ("ldap_group_name_attribute", "c n", "PROXGATE_LDAP_GROUP_NAME_ATTRIBUTE"),
        ("ldap_role_map", "Domain Admins=root", "PROXGATE_LDAP_ROLE_MAP"),
        ("ldap_ca_bundle", "/nonexistent/ca.pem", "PROXGATE_LDAP_CA_BUNDLE"),
        ("ldap_timeout", 0, "PROXGATE_LDAP_TIMEOUT"),
    ],
)
def test_invalid_setting_names_itself_in_one_line(
    tmp_path: Path, field: str, value: object, name: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**clean(tmp_path, **{field: value}))
    assert str(caught.value).startswith(name + ":")
    assert "\n" not in str(caught.value)


def test_fingerprint_is_normalised_to_pve_form(tmp_path: Path) -> None:
    settings = load_settings(**clean(tmp_path, proxmox_tls_fingerprint="ab" * 32))
    assert settings.proxmox_tls_fingerprint == FP


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings(**clean(tmp_path))
    first = settings.resolved_secret_key()
    assert first == load_settings(**clean(tmp_path)).resolved_secret_key()
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0


def test_database_url_defaults_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = load_settings(**clean(tmp_path, database_url=None))
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'proxgate.db'}"
    pg = load_settings(**clean(tmp_path, database_url="postgresql://u@db/proxgate"))
    assert pg.resolved_database_url == "postgresql+psycopg://u@db/proxgate"


def test_single_sign_on_needs_its_client_and_role_map(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            **clean(tmp_path, oidc_issuer="https://id.example.com/realms/main", oidc_client_id="pg")
        )
    assert "PROXGATE_OIDC_CLIENT_SECRET" in str(caught.value) and "PROXGATE_OIDC_ROLE_MAP" in str(
        caught.value
    )
    settings = load_settings(
        **clean(
            tmp_path,
            oidc_issuer="https://id.example.com/realms/main/",
            oidc_client_id="pg",
            oidc_client_secret="s",
            oidc_role_map=" proxmox-admins = admin , dba=approver ",
        )
    )
    assert settings.oidc_issuer == "https://id.example.com/realms/main"


LDAP = {
    "ldap_url": "ldaps://dc1.example.lan",
    "ldap_bind_dn": "CN=proxgate,OU=Service,DC=example,DC=lan",
    "ldap_bind_password": "s",
    "ldap_user_base": "DC=example,DC=lan",
    "ldap_group_base": "DC=example,DC=lan",
    "ldap_role_map": "Proxmox Admins=admin,dba=approver",
}


def test_ldap_sign_in_needs_its_account_bases_and_role_map(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**clean(tmp_path, ldap_url="ldaps://dc1.example.lan", ldap_bind_dn="CN=proxgate"))
    message = str(caught.value)
    assert message.startswith("PROXGATE_LDAP_URL needs PROXGATE_LDAP_BIND_PASSWORD, PROXGATE_LDAP_USER_BASE,")
    assert "PROXGATE_LDAP_ROLE_MAP" in message and "PROXGATE_LDAP_BIND_DN," not in message
    ad = "(&(sAMAccountName={username})(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
    nested = "(member:1.2.840.113556.1.4.1941:={dn})"
    settings = load_settings(**clean(tmp_path, **LDAP, ldap_user_filter=ad, ldap_group_filter=nested))
    assert settings.ldap_user_filter == ad and settings.ldap_group_filter == nested


def test_ldap_tls_settings_that_contradict_each_other_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PROXGATE_LDAP_START_TLS is for ldap:// URLs"):
        load_settings(**clean(tmp_path, **LDAP, ldap_start_tls=True))
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    plain = {**LDAP, "ldap_url": "ldap://dc1.example.lan:389"}
    with pytest.raises(ConfigError, match="PROXGATE_LDAP_CA_BUNDLE is used only over TLS"):
        load_settings(**clean(tmp_path, **plain, ldap_ca_bundle=bundle))
    settings = load_settings(**clean(tmp_path, **plain, ldap_ca_bundle=bundle, ldap_start_tls=True))
    assert settings.ldap_start_tls and settings.ldap_ca_bundle == bundle
