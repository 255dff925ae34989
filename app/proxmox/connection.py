"""Where and how to reach PVE: host, API token, TLS options, timeouts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app.proxmox.tls import normalise_fingerprint

__all__ = ["DEFAULT_PORT", "PveConnection", "split_host"]

DEFAULT_PORT = 8006
# FACTS.md section 1: user@realm!tokenid.
TOKEN_ID_RE = re.compile(r"^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$")


def split_host(host: str) -> tuple[str, int]:
    """(hostname, port) of 'pve.example', 'pve.example:8006', 'https://pve:8006' or '[fd00::1]:8006'."""
    text = host.strip()
    if text.count(":") > 1 and "[" not in text and "//" not in text:
        text = f"[{text}]"  # a bare IPv6 address
    if "//" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme != "https":
        raise ValueError(f"PVE's API is served over HTTPS, not {parts.scheme}: {host!r}")
    if parts.path.rstrip("/") not in ("", "/api2/json") or parts.query or parts.username:
        raise ValueError(f"PROXMOX_HOST is a host name with an optional port, not {host!r}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"PROXMOX_HOST has an invalid port: {host!r}") from None
    if not parts.hostname:
        raise ValueError(f"PROXMOX_HOST has no host name: {host!r}")
    return parts.hostname, port


@dataclass(frozen=True)
class PveConnection:
    """How to reach PVE; the token secret is kept out of repr()."""

    host: str
    token_id: str
    token_secret: str = field(repr=False)
    verify_tls: bool = True
    ca_bundle: str | None = None
    fingerprint: str | None = None
    timeout: float = 10.0
    resources_ttl: float = 3.0
    # The backup listing reads every backup storage's content: heavier upstream, and it changes rarely.
    # None: as long as resources_ttl.
    backups_ttl: float | None = None
    retries: int = 2

    def __post_init__(self) -> None:
        split_host(self.host)
        if not TOKEN_ID_RE.match(self.token_id):
            raise ValueError(f"the API token id must look like user@realm!tokenname, not {self.token_id!r}")
        if not self.token_secret or any(c.isspace() for c in self.token_secret):
            raise ValueError("the API token secret is empty or contains white space")
        if self.fingerprint:
            object.__setattr__(self, "fingerprint", normalise_fingerprint(self.fingerprint))
        if self.timeout <= 0 or self.resources_ttl < 0 or self.retries < 0 or (self.backups_ttl or 0) < 0:
            raise ValueError("timeout must be positive; the TTLs and retries may not be negative")

    @property
    def hostname(self) -> str:
        """The host name or address, without port."""
        return split_host(self.host)[0]

    @property
    def port(self) -> int:
        """The API port (8006 unless given)."""
        return split_host(self.host)[1]

    @property
    def address(self) -> str:
        """host:port, for messages."""
        name = self.hostname
        return f"[{name}]:{self.port}" if ":" in name else f"{name}:{self.port}"

    @property
    def base_url(self) -> str:
        """https://host:port/api2/json."""
        return f"https://{self.address}/api2/json"

    def authorization(self) -> str:
        """The Authorization header value; it holds the secret, so never log it."""
        return f"PVEAPIToken={self.token_id}={self.token_secret}"
