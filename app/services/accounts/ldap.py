"""One LDAP directory or Active Directory: people found with the service account, their password checked by
binding as them, their groups read (ldap3; each exchange in a worker thread, every step under a timeout)."""

from __future__ import annotations

import math
import re
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from anyio import CapacityLimiter, to_thread
from ldap3 import NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from app.config import Settings, parse_role_map
from app.db.models import Role
from app.services.accounts.oidc import role_for
from app.services.errors import Unauthenticated

# How many directory exchanges run at once per process: a burst of sign-ins queues here instead of taking every
# worker thread the app has.
CONCURRENCY = 8
# The simple paged results control (RFC 2696): groups are read a page at a time, under any server's size limit.
PAGED_RESULTS = "1.2.840.113556.1.4.319"
PAGE_SIZE = 500
INVALID_CREDENTIALS = 49
TUPLE_REPR = re.compile(r"""^\((['"])(.*)\1,\)$""", re.S)


class LdapRefused(Unauthenticated):
    """The directory does not let this person in, or cannot say; `reason` is the audit's short word for why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class LdapConfig:
    """The directory, the service account, where people and groups are, and how groups become roles."""

    url: str
    start_tls: bool
    ca_bundle: str | None
    bind_dn: str
    bind_password: str
    user_base: str
    user_filter: str
    group_base: str
    group_filter: str
    group_name_attribute: str
    role_map: Mapping[str, Role]
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> LdapConfig | None:
        """The configuration, or None when LDAP sign-in is off (the settings checked that the rest is there)."""
        if not (settings.ldap_url and settings.ldap_bind_dn and settings.ldap_bind_password):
            return None
        return cls(
            url=settings.ldap_url,
            start_tls=settings.ldap_start_tls,
            ca_bundle=str(settings.ldap_ca_bundle.expanduser()) if settings.ldap_ca_bundle else None,
            bind_dn=settings.ldap_bind_dn,
            bind_password=settings.ldap_bind_password.get_secret_value(),
            user_base=settings.ldap_user_base or "",
            user_filter=settings.ldap_user_filter,
            group_base=settings.ldap_group_base or "",
            group_filter=settings.ldap_group_filter,
            group_name_attribute=settings.ldap_group_name_attribute,
            role_map={group: Role(role) for group, role in parse_role_map(settings.ldap_role_map).items()},
            timeout=settings.ldap_timeout,
        )


@dataclass(frozen=True)
class Person:
    """Someone as the directory describes them just now."""

    dn: str
    username: str
    groups: tuple[str, ...]
    role: Role | None
    # The groups PROXGATE_LDAP_ROLE_MAP names (kept first when a user's groups must be cut short).
    mapped: tuple[str, ...] = ()


class CheckedTls(Tls):
    """ldap3's TLS with the standard library's certificate and host name checks (ssl.create_default_context)
    in place of its own, which call the deprecated ssl.match_hostname."""

    def __init__(self, host: str, ca_bundle: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED)
        self._host = host
        self._context = ssl.create_default_context(cafile=ca_bundle)

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        """Encrypt the connection's socket, checking the certificate and that it names the server."""
        connection.socket = self._context.wrap_socket(
            connection.socket, server_hostname=self._host, do_handshake_on_connect=do_handshake
        )


def user_filter(config: LdapConfig, username: str) -> str:
    """The user filter for this name, its special characters escaped (RFC 4515)."""
    return config.user_filter.replace("{username}", escape_filter_chars(username))


def group_filter(config: LdapConfig, dn: str, username: str) -> str:
    """The group filter for this person, both values escaped."""
    text = config.group_filter.replace("{dn}", escape_filter_chars(dn))
    return text.replace("{username}", escape_filter_chars(username))


class LdapDirectory:
    """Asks the directory about people: a sign-in with a password, or a look-up with the service account alone."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        parts = urlsplit(config.url)
        tls = CheckedTls(parts.hostname or "", config.ca_bundle)
        self._server = Server(
            config.url,
            use_ssl=parts.scheme == "ldaps",
            tls=tls,
            get_info=NONE,
            connect_timeout=config.timeout,
        )
        self._limiter = CapacityLimiter(CONCURRENCY)

    async def authenticate(self, username: str, password: str) -> Person:
        """The person with this name and password; Unauthenticated when they do not match, LdapRefused when the
        directory cannot say."""
        if not password:
            # A simple bind with a DN and no password is an anonymous bind, which many directories let
            # "succeed": it must never reach one.
            raise Unauthenticated("Enter your username and password.")
        return await to_thread.run_sync(self._authenticate, username, password, limiter=self._limiter)

    async def lookup(self, username: str) -> Person | None:
        """The person with this name as the directory describes them now, or None when it finds nobody."""
        return await to_thread.run_sync(self._lookup, username, limiter=self._limiter)

    def _authenticate(self, username: str, password: str) -> Person:
        with self._service() as service:
            dn = self._find(service, username)
            if dn is None:
                raise Unauthenticated("Wrong username or password.")
            with self._opened(dn, password) as own:
                if not call(own.bind):
                    if own.result.get("result") == INVALID_CREDENTIALS:
                        raise Unauthenticated("Wrong username or password.")
                    raise failure(own, "refused the sign-in")
            return self._person(service, dn, username)

    def _lookup(self, username: str) -> Person | None:
        with self._service() as service:
            dn = self._find(service, username)
            return None if dn is None else self._person(service, dn, username)

    @contextmanager
    def _opened(self, user: str, password: str) -> Iterator[Connection]:
        """An open connection (encrypted first with StartTLS when asked), not yet bound; closed afterwards."""
        connection = Connection(
            self._server,
            user=user,
            password=password,
            authentication=SIMPLE,
            read_only=True,
            auto_referrals=False,
            # Whole seconds: ldap3 sets it as the socket's SO_RCVTIMEO.
            receive_timeout=math.ceil(self.config.timeout),
            raise_exceptions=False,
        )
        try:
            call(connection.open)
            if self.config.start_tls and not call(connection.start_tls):
                raise failure(connection, "refused StartTLS")
            yield connection
        finally:
            with suppress(LDAPException, OSError):
                connection.unbind()
            # ldap3 leaves the socket of a connection that failed to open (a refused certificate) to the collector.
            if isinstance(connection.socket, socket.socket):
                connection.socket.close()

    @contextmanager
    def _service(self) -> Iterator[Connection]:
        """A connection bound as the service account; closed afterwards."""
        with self._opened(self.config.bind_dn, self.config.bind_password) as connection:
            if not call(connection.bind):
                raise failure(connection, "refused Proxgate's service account (PROXGATE_LDAP_BIND_DN)")
            yield connection

    def _find(self, service: Connection, username: str) -> str | None:
        """The DN of the one entry the user filter finds for this name; None for none."""
        query = user_filter(self.config, username)
        call(service.search, self.config.user_base, query, SUBTREE, attributes=[], size_limit=2)
        found = [entry["dn"] for entry in service.response or () if entry.get("type") == "searchResEntry"]
        if len(found) > 1 or service.result.get("description") == "sizeLimitExceeded":
            raise LdapRefused(
                "The directory has more than one entry for this name; ask an administrator to narrow "
                "PROXGATE_LDAP_USER_FILTER.",
                "ambiguous",
            )
        if service.result.get("result") != 0:
            raise failure(service, "could not be searched for people (PROXGATE_LDAP_USER_BASE)")
        return str(found[0]) if found else None

    def _person(self, service: Connection, dn: str, username: str) -> Person:
        groups = tuple(sorted(set(self._groups(service, dn, username))))
        return Person(
            dn=dn,
            username=username,
            groups=groups,
            role=role_for(groups, self.config.role_map),
            mapped=tuple(g for g in groups if g in self.config.role_map),
        )

    def _groups(self, service: Connection, dn: str, username: str) -> list[str]:
        """The names of the groups the group filter finds for this person, a page at a time."""
        query = group_filter(self.config, dn, username)
        attribute = self.config.group_name_attribute
        names: list[str] = []
        cookie: bytes | None = None
        while True:
            call(
                service.search,
                self.config.group_base,
                query,
                SUBTREE,
                attributes=[attribute],
                paged_size=PAGE_SIZE,
                paged_cookie=cookie,
            )
            if service.result.get("result") != 0:
                raise failure(service, "could not be searched for groups (PROXGATE_LDAP_GROUP_BASE)")
            for entry in service.response or ():
                names += group_names(entry, attribute)
            control = (service.result.get("controls") or {}).get(PAGED_RESULTS, {})
            cookie = control.get("value", {}).get("cookie")
            if not cookie:
                return names


def call(step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One exchange with the directory; a lost, silent or untrusted directory becomes LdapRefused."""
    try:
        return step(*args, **kwargs)
    except (LDAPException, OSError) as exc:
        raise LdapRefused(
            f"The directory could not be reached: {plain(exc)}", "directory-unreachable"
        ) from exc


def plain(exc: Exception) -> str:
    """An ldap3 error's words, without the tuple reprs it wraps them in: ('("socket ... error",)',)."""
    text = str(exc)
    while found := TUPLE_REPR.match(text):
        text = found.group(2).replace("\\'", "'")
    return text


def failure(connection: Connection, what: str) -> LdapRefused:
    """The refusal for an exchange the directory answered with an error."""
    said = connection.result.get("description") or connection.result.get("result")
    message = connection.result.get("message")
    detail = f"{said}: {message}" if message else str(said)
    return LdapRefused(f"The directory {what}: {detail}.", "directory-error")


def group_names(entry: Mapping[str, Any], attribute: str) -> list[str]:
    """A search result's values of the group name attribute (any case of its name), as text."""
    if entry.get("type") != "searchResEntry":
        return []
    raw = entry.get("raw_attributes") or {}
    values: list[Any] = next((v for k, v in raw.items() if k.lower() == attribute.lower()), [])
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values][:1]
