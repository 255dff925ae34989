"""Settings from the environment, a credentials file and the data directory."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import stat
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

FINGERPRINT_RE = re.compile(r"^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$")
CREDENTIAL_KEYS = ("PROXMOX_HOST", "PROXMOX_TOKEN_ID", "PROXMOX_TOKEN_SECRET")
# The roles' names, weakest first (app.db.models.Role; the configuration comes before the models).
ROLE_NAMES = ("viewer", "operator", "approver", "admin")
LDAP_URL_RE = re.compile(r"^ldaps?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?/?$")
TOKEN_ID_RE = re.compile(r"^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$")


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line that names it."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    """Every knob of Proxgate; environment names are given by each field's alias."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    proxmox_host: str | None = Field(None, validation_alias=_env("PROXMOX_HOST"))
    proxmox_token_id: str | None = Field(None, validation_alias=_env("PROXMOX_TOKEN_ID"))
    proxmox_token_secret: SecretStr | None = Field(None, validation_alias=_env("PROXMOX_TOKEN_SECRET"))
    proxmox_verify_tls: bool = Field(True, validation_alias=_env("PROXMOX_VERIFY_TLS"))
    proxmox_ca_bundle: Path | None = Field(None, validation_alias=_env("PROXMOX_CA_BUNDLE"))
    proxmox_tls_fingerprint: str | None = Field(None, validation_alias=_env("PROXMOX_TLS_FINGERPRINT"))
    proxmox_timeout: float = Field(10.0, gt=0, validation_alias=_env("PROXMOX_TIMEOUT"))
    resources_ttl: float = Field(3.0, ge=0, validation_alias=_env("PROXGATE_RESOURCES_TTL"))
    backups_ttl: float = Field(30.0, ge=0, validation_alias=_env("PROXGATE_BACKUPS_TTL"))
    # Seconds a listing of addresses waits for guests never read before it answers with what is known.
    ips_wait: float = Field(0.25, ge=0, le=60, validation_alias=_env("PROXGATE_IPS_WAIT"))
    # How many guests of a bulk action (or of emptying a node) are worked on at once.
    bulk_concurrency: int = Field(4, ge=1, le=32, validation_alias=_env("PROXGATE_BULK_CONCURRENCY"))
    # How long a running batch stays its process's without a renewal (renewed every third of it); after that,
    # another process takes it over. Tests shorten it; in production a stopped process's batch waits this long.
    batch_lease_seconds: float = Field(
        30.0, ge=3, le=600, validation_alias=_env("PROXGATE_BATCH_LEASE_SECONDS")
    )
    # Checks beyond Proxmox before an address is offered or taken: off, ping, or ping,neigh (app/services/ips/probe.py).
    ip_probe: str = Field("off", validation_alias=_env("PROXGATE_IP_PROBE"))
    page_size: int = Field(50, ge=10, le=500, validation_alias=_env("PROXGATE_PAGE_SIZE"))
    credentials_file: Path = Field(
        Path("~/.proxmox-credentials"), validation_alias=_env("PROXGATE_CREDENTIALS_FILE")
    )
    data_dir: Path = Field(Path("data"), validation_alias=_env("PROXGATE_DATA_DIR"))
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    # Database connections per process (kept open, and more under load); a request holds at most one at a time.
    db_pool_size: int = Field(10, ge=1, le=200, validation_alias=_env("PROXGATE_DB_POOL_SIZE"))
    db_pool_overflow: int = Field(20, ge=0, le=500, validation_alias=_env("PROXGATE_DB_POOL_OVERFLOW"))
    secret_key: SecretStr | None = Field(None, validation_alias=_env("PROXGATE_SECRET_KEY"))
    audit_old_keys: SecretStr | None = Field(None, validation_alias=_env("PROXGATE_AUDIT_OLD_KEYS"))
    audit_checkpoint_dir: Path | None = Field(None, validation_alias=_env("PROXGATE_AUDIT_CHECKPOINT_DIR"))
    audit_checkpoint_seconds: float = Field(
        300.0, gt=0, validation_alias=_env("PROXGATE_AUDIT_CHECKPOINT_SECONDS")
    )
    session_idle_minutes: int = Field(60, ge=1, validation_alias=_env("PROXGATE_SESSION_IDLE_MINUTES"))
    session_max_hours: int = Field(12, ge=1, validation_alias=_env("PROXGATE_SESSION_MAX_HOURS"))
    cookie_secure: Literal["auto", "true", "false"] = Field(
        "auto", validation_alias=_env("PROXGATE_COOKIE_SECURE")
    )
    login_max_failures: int = Field(5, ge=1, validation_alias=_env("PROXGATE_LOGIN_MAX_FAILURES"))
    login_ip_max_failures: int = Field(20, ge=1, validation_alias=_env("PROXGATE_LOGIN_IP_MAX_FAILURES"))
    login_window_minutes: int = Field(15, ge=1, validation_alias=_env("PROXGATE_LOGIN_WINDOW_MINUTES"))
    trusted_proxies: str = Field("", validation_alias=_env("PROXGATE_TRUSTED_PROXIES"))
    metrics_token: SecretStr | None = Field(None, validation_alias=_env("PROXGATE_METRICS_TOKEN"))
    metrics_allow: str = Field("", validation_alias=_env("PROXGATE_METRICS_ALLOW"))
    demo: bool = Field(False, validation_alias=_env("PROXGATE_DEMO"))
    approval_operations: str = Field("", validation_alias=_env("PROXGATE_APPROVAL_OPERATIONS"))
    policy_file: Path | None = Field(None, validation_alias=_env("PROXGATE_POLICY_FILE"))
    approvals_required: int = Field(1, ge=1, le=5, validation_alias=_env("PROXGATE_APPROVALS_REQUIRED"))
    request_ttl_hours: float = Field(
        24.0, gt=0, le=24 * 30, validation_alias=_env("PROXGATE_REQUEST_TTL_HOURS")
    )
    approval_mode: Literal["two-person", "solo"] = Field(
        "two-person", validation_alias=_env("PROXGATE_APPROVAL_MODE")
    )
    solo_cooling_minutes: float = Field(10.0, ge=0, validation_alias=_env("PROXGATE_SOLO_COOLING_MINUTES"))
    # Approving and rejecting are a person's acts: off, only a signed-in browser session decides; on, so may
    # API tokens made with the approver role.
    approve_with_tokens: bool = Field(False, validation_alias=_env("PROXGATE_APPROVE_WITH_TOKENS"))
    public_url: str | None = Field(None, validation_alias=_env("PROXGATE_PUBLIC_URL"))
    notify_apprise_urls: SecretStr | None = Field(None, validation_alias=_env("PROXGATE_NOTIFY_APPRISE_URLS"))
    notify_webhook_url: SecretStr | None = Field(None, validation_alias=_env("PROXGATE_NOTIFY_WEBHOOK_URL"))
    # How often the outbox is looked at: the delay between a decision and its message (tests set it short).
    notify_interval_seconds: float = Field(
        2.0, gt=0, le=3600, validation_alias=_env("PROXGATE_NOTIFY_INTERVAL_SECONDS")
    )
    # How often Proxmox's task lists are read for tasks Proxgate did not start (0: never; tests turn it on).
    observe_interval_seconds: float = Field(
        5.0, ge=0, le=3600, validation_alias=_env("PROXGATE_OBSERVE_INTERVAL_SECONDS")
    )
    notify_webhook_secret: SecretStr | None = Field(
        None, validation_alias=_env("PROXGATE_NOTIFY_WEBHOOK_SECRET")
    )
    mcp_http: bool = Field(False, validation_alias=_env("PROXGATE_MCP_HTTP"))
    # Single sign-on with an OpenID Connect provider (docs/security.md): off while the issuer is unset.
    oidc_issuer: str | None = Field(None, validation_alias=_env("PROXGATE_OIDC_ISSUER"))
    oidc_client_id: str | None = Field(None, validation_alias=_env("PROXGATE_OIDC_CLIENT_ID"))
    oidc_client_secret: SecretStr | None = Field(None, validation_alias=_env("PROXGATE_OIDC_CLIENT_SECRET"))
    oidc_groups_claim: str = Field(
        "groups", min_length=1, validation_alias=_env("PROXGATE_OIDC_GROUPS_CLAIM")
    )
    # group=role pairs: a person gets the highest role any of their groups maps to, and no access without one.
    oidc_role_map: str = Field("", validation_alias=_env("PROXGATE_OIDC_ROLE_MAP"))
    oidc_scopes: str = Field("openid profile groups", validation_alias=_env("PROXGATE_OIDC_SCOPES"))
    # What the sign-in button calls the provider ("Sign in with NAME"); the issuer's host when unset.
    oidc_name: str | None = Field(None, max_length=64, validation_alias=_env("PROXGATE_OIDC_NAME"))
    # Sign-in against an LDAP directory or Active Directory (docs/security.md): off while the URL is unset.
    ldap_url: str | None = Field(None, validation_alias=_env("PROXGATE_LDAP_URL"))
    ldap_start_tls: bool = Field(False, validation_alias=_env("PROXGATE_LDAP_START_TLS"))
    ldap_ca_bundle: Path | None = Field(None, validation_alias=_env("PROXGATE_LDAP_CA_BUNDLE"))
    ldap_bind_dn: str | None = Field(None, validation_alias=_env("PROXGATE_LDAP_BIND_DN"))
    ldap_bind_password: SecretStr | None = Field(None, validation_alias=_env("PROXGATE_LDAP_BIND_PASSWORD"))
    ldap_user_base: str | None = Field(None, validation_alias=_env("PROXGATE_LDAP_USER_BASE"))
    ldap_user_filter: str = Field("(uid={username})", validation_alias=_env("PROXGATE_LDAP_USER_FILTER"))
    ldap_group_base: str | None = Field(None, validation_alias=_env("PROXGATE_LDAP_GROUP_BASE"))
    ldap_group_filter: str = Field("(member={dn})", validation_alias=_env("PROXGATE_LDAP_GROUP_FILTER"))
    ldap_group_name_attribute: str = Field("cn", validation_alias=_env("PROXGATE_LDAP_GROUP_NAME_ATTRIBUTE"))
    # The same group=role pairs as PROXGATE_OIDC_ROLE_MAP, for the directory's groups.
    ldap_role_map: str = Field("", validation_alias=_env("PROXGATE_LDAP_ROLE_MAP"))
    # Seconds each step (connecting, each answer) may take before the directory counts as unreachable.
    ldap_timeout: float = Field(5.0, gt=0, le=60, validation_alias=_env("PROXGATE_LDAP_TIMEOUT"))
    # The MCP server (stdio and /mcp) offers and runs only the tools that change nothing in Proxmox.
    mcp_read_only: bool = Field(False, validation_alias=_env("PROXGATE_MCP_READ_ONLY"))

    @field_validator("proxmox_tls_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        text = value.strip().upper()
        if len(text) == 64 and ":" not in text:
            text = ":".join(text[i : i + 2] for i in range(0, 64, 2))
        if not FINGERPRINT_RE.match(text):
            raise ValueError("expected the sha256 fingerprint as PVE shows it, 32 hex pairs joined by ':'")
        return text

    @field_validator("ip_probe")
    @classmethod
    def _ip_probe(cls, value: str) -> str:
        parts = {p.strip().lower() for p in value.split(",") if p.strip()}
        for allowed in ("off", "ping", "ping,neigh"):
            if parts == set(allowed.split(",")):
                return allowed
        raise ValueError("expected off, ping or ping,neigh")

    @field_validator("proxmox_token_id")
    @classmethod
    def _token_id(cls, value: str | None) -> str | None:
        if value and not TOKEN_ID_RE.match(value):
            raise ValueError("expected USER@REALM!TOKENID, for example proxgate@pve!app")
        return value or None

    @field_validator("metrics_allow")
    @classmethod
    def _metrics_allow(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an address or a network such as 10.0.0.0/8") from None
        return value

    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The addresses and networks allowed to scrape /metrics without signing in."""
        parts = (p.strip() for p in self.metrics_allow.split(","))
        return [ipaddress.ip_network(part, strict=False) for part in parts if part]

    @field_validator("proxmox_ca_bundle", "ldap_ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError("expected the address people open Proxgate at, e.g. https://proxgate.lan")
        return value.rstrip("/") if value else None

    @field_validator("oidc_issuer")
    @classmethod
    def _oidc_issuer(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
            raise ValueError("expected the provider's issuer URL, e.g. https://id.example.com/realms/main")
        return value.rstrip("/") if value else None

    @field_validator("oidc_role_map")
    @classmethod
    def _oidc_role_map(cls, value: str) -> str:
        parse_role_map(value)
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret and self.oidc_role_map):
            raise ValueError(
                "PROXGATE_OIDC_ISSUER needs PROXGATE_OIDC_CLIENT_ID, PROXGATE_OIDC_CLIENT_SECRET and "
                "PROXGATE_OIDC_ROLE_MAP (which groups get which role)"
            )
        if self.oidc_issuer and "openid" not in self.oidc_scopes.split():
            raise ValueError("PROXGATE_OIDC_SCOPES must include openid")
        return self

    @field_validator("ldap_url")
    @classmethod
    def _ldap_url(cls, value: str | None) -> str | None:
        if value and not LDAP_URL_RE.match(value):
            raise ValueError(
                "expected ldap://host[:port] or ldaps://host[:port], e.g. ldaps://dc1.example.lan"
            )
        return value.rstrip("/") if value else None

    @field_validator("ldap_user_filter")
    @classmethod
    def _ldap_user_filter(cls, value: str) -> str:
        return check_ldap_filter(value, ("username",), "(uid={username})")

    @field_validator("ldap_group_filter")
    @classmethod
    def _ldap_group_filter(cls, value: str) -> str:
        return check_ldap_filter(value, ("dn", "username"), "(member={dn})")

    @field_validator("ldap_group_name_attribute")
    @classmethod
    def _ldap_group_name_attribute(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9-]{0,63}$", value):
            raise ValueError(f"{value!r} is not an attribute name such as cn or sAMAccountName")
        return value

    @field_validator("ldap_role_map")
    @classmethod
    def _ldap_role_map(cls, value: str) -> str:
        parse_role_map(value)
        return value

    @model_validator(mode="after")
    def _ldap_complete(self) -> Settings:
        if not self.ldap_url:
            return self
        needed = {
            "PROXGATE_LDAP_BIND_DN": self.ldap_bind_dn,
            "PROXGATE_LDAP_BIND_PASSWORD": self.ldap_bind_password,
            "PROXGATE_LDAP_USER_BASE": self.ldap_user_base,
            "PROXGATE_LDAP_GROUP_BASE": self.ldap_group_base,
            "PROXGATE_LDAP_ROLE_MAP": self.ldap_role_map,
        }
        if missing := [name for name, value in needed.items() if not value]:
            raise ValueError(
                f"PROXGATE_LDAP_URL needs {', '.join(missing)} (the service account that looks people up, "
                "where people and groups are, and which groups get which role)"
            )
        tls = self.ldap_url.startswith("ldaps://")
        if tls and self.ldap_start_tls:
            raise ValueError(
                "PROXGATE_LDAP_START_TLS is for ldap:// URLs: ldaps:// is encrypted from the start"
            )
        if self.ldap_ca_bundle and not (tls or self.ldap_start_tls):
            raise ValueError(
                "PROXGATE_LDAP_CA_BUNDLE is used only over TLS: use an ldaps:// URL or PROXGATE_LDAP_START_TLS"
            )
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.notify_webhook_url and not self.notify_webhook_secret:
            raise ValueError(
                "PROXGATE_NOTIFY_WEBHOOK_SECRET is needed to sign messages to PROXGATE_NOTIFY_WEBHOOK_URL"
            )
        return self

    @model_validator(mode="after")
    def _credentials_from_file(self) -> Settings:
        if all((self.proxmox_host, self.proxmox_token_id, self.proxmox_token_secret)):
            return self
        values = read_credentials_file(self.credentials_file.expanduser())
        self.proxmox_host = self.proxmox_host or values.get("PROXMOX_HOST")
        if not self.proxmox_token_id and values.get("PROXMOX_TOKEN_ID"):
            self.proxmox_token_id = self._token_id(values["PROXMOX_TOKEN_ID"])
        if not self.proxmox_token_secret and values.get("PROXMOX_TOKEN_SECRET"):
            self.proxmox_token_secret = SecretStr(values["PROXMOX_TOKEN_SECRET"])
        return self

    @property
    def proxmox_configured(self) -> bool:
        """True when host, token id and secret are all known."""
        return bool(self.proxmox_host and self.proxmox_token_id and self.proxmox_token_secret)

    def given_proxmox_settings(self) -> list[str]:
        """Names of the Proxmox connection settings that are set."""
        have = (self.proxmox_host, self.proxmox_token_id, self.proxmox_token_secret)
        return [key for key, value in zip(CREDENTIAL_KEYS, have, strict=True) if value]

    def missing_proxmox_settings(self) -> list[str]:
        """Names of the Proxmox connection settings that are not set."""
        have = (self.proxmox_host, self.proxmox_token_id, self.proxmox_token_secret)
        return [key for key, value in zip(CREDENTIAL_KEYS, have, strict=True) if not value]

    @property
    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL: DATABASE_URL, or a SQLite file in the data dir."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'proxgate.db'}"
        for prefix, driver in (
            ("postgres://", "postgresql+psycopg://"),
            ("postgresql://", "postgresql+psycopg://"),
            ("sqlite:///", "sqlite+aiosqlite:///"),
        ):
            if url.startswith(prefix):
                return driver + url[len(prefix) :]
        return url

    def resolved_checkpoint_dir(self) -> Path:
        """PROXGATE_AUDIT_CHECKPOINT_DIR, else a folder beside (never inside) the data dir: <data dir>-audit-checkpoints."""
        if self.audit_checkpoint_dir is not None:
            return self.audit_checkpoint_dir.expanduser()
        data = self.data_dir.expanduser().resolve()
        return data.parent / f"{data.name}-audit-checkpoints"

    def resolved_secret_key(self) -> str:
        """PROXGATE_SECRET_KEY, else a key generated once and kept in the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        if not self.data_dir.is_dir():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # as app.db.files makes it
        key = secrets.token_urlsafe(48)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(key)
        return key


def parse_role_map(text: str) -> dict[str, str]:
    """PROXGATE_OIDC_ROLE_MAP's (and PROXGATE_LDAP_ROLE_MAP's) `group=role,group=role` as {group: role}; ValueError naming a bad pair."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        group, sep, role = (x.strip() for x in part.rpartition("="))
        if not sep or not group or role not in ROLE_NAMES:
            raise ValueError(f"{part!r} is not GROUP=ROLE with a role of {', '.join(ROLE_NAMES)}")
        pairs[group] = role
    return pairs


def check_ldap_filter(text: str, placeholders: tuple[str, ...], example: str) -> str:
    """An LDAP filter as the LDAP settings take it, with one or more of these {placeholders}; ValueError saying
    what is wrong, with an example."""
    names = set(re.findall(r"{(\w*)}", text))
    choices = " or ".join("{" + name + "}" for name in placeholders)
    if unknown := names - set(placeholders):
        raise ValueError(f"{{{sorted(unknown)[0]}}} is not a placeholder here: use {choices}")
    if not names:
        raise ValueError(f"the filter must contain {choices}, e.g. {example}")
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if not (text.startswith("(") and text.endswith(")")) or depth != 0:
        raise ValueError(f"{text!r} is not one LDAP filter in parentheses, e.g. {example}")
    return text


def mcp_read_only(environ: Mapping[str, str] | None = None) -> bool:
    """PROXGATE_MCP_READ_ONLY as Settings reads it, alone: `proxgate mcp` on an agent's machine has none of
    the server's other settings (nor a Proxmox credentials file to check)."""
    value = (os.environ if environ is None else environ).get("PROXGATE_MCP_READ_ONLY", "false")
    try:
        return TypeAdapter(bool).validate_python(value.strip() or "false")
    except ValidationError:
        raise ConfigError(f"PROXGATE_MCP_READ_ONLY: expected true or false, not {value!r}") from None


def parse_credentials(text: str) -> dict[str, str]:
    """KEY=VALUE lines with optional quotes and `export`; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def read_credentials_file(path: Path) -> dict[str, str]:
    """The file's values; refuses a file that group or others can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"refusing to read {path}: it is readable by group or others; run: chmod 600 {path}")
    try:
        return parse_credentials(path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming the first bad setting by its environment name."""
    error = exc.errors()[0]
    loc = [str(part) for part in error.get("loc", ()) if part]
    field = Settings.model_fields.get(loc[0]) if loc else None
    alias = field.validation_alias if field is not None else None
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if not loc:
        return message
    name = alias.choices[0] if isinstance(alias, AliasChoices) else loc[0]
    return f"{str(name).upper()}: {message}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and overrides); ConfigError with one line on failure."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
