"""TLS and the connection pool of the PVE client: system CAs by default, a private CA bundle, or a pinned
fingerprint; one aiohttp connector per client.

Pinning is for PVE's self-signed certificate: the chain is not verified, instead the sha256 of the certificate
the server presents must equal the pin (as PVE shows it: 'AB:CD:...'). aiohttp checks an `aiohttp.Fingerprint`
in `TCPConnector._create_direct_connection`, right after `loop.create_connection` has completed the TLS
handshake and before the connection is handed to the request; on a mismatch it closes the connection there. The
request's first byte (the API token header included) is written only after the connector returns, so a wrong
certificate never sees one.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from dataclasses import dataclass

import aiohttp

__all__ = [
    "LIMITS",
    "PoolLimits",
    "fingerprint_of",
    "make_connector",
    "make_ssl_context",
    "normalise_fingerprint",
    "pinned_fingerprint",
]


@dataclass(frozen=True)
class PoolLimits:
    """How many connections the client keeps to PVE, and how long an idle one stays open."""

    max_connections: int
    keepalive_expiry: float

    @property
    def max_keepalive_connections(self) -> int:
        """Connections kept open when idle: aiohttp keeps every one it opened, up to the limit."""
        return self.max_connections


# Reading every guest's config (the IP index) keeps 64 requests in flight, so that a cluster's round trips
# overlap; every connection kept open may be reused: opening TLS afresh per request costs more than the request.
# aiohttp's pool hands out an idle connection in O(1) (httpcore2 scanned every connection on each request).
LIMITS = PoolLimits(max_connections=64, keepalive_expiry=4.0)


def normalise_fingerprint(text: str) -> str:
    """'ab:cd…', 'ABCD…' or 'AB CD …' as PVE shows a sha256 fingerprint: 'AB:CD:…'; ValueError otherwise."""
    digits = re.sub(r"[\s:]", "", text).upper()
    if not re.fullmatch(r"[0-9A-F]{64}", digits):
        raise ValueError(
            "a TLS fingerprint is the certificate's sha256: 64 hex digits, optionally colon-separated"
        )
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))


def fingerprint_of(der: bytes) -> str:
    """The sha256 fingerprint of a DER certificate, as PVE shows it."""
    return normalise_fingerprint(hashlib.sha256(der).hexdigest())


def pinned_fingerprint(digest: bytes) -> str:
    """A sha256 digest (as aiohttp reports a pin and a presented certificate), as PVE shows it."""
    return normalise_fingerprint(digest.hex())


def make_ssl_context(verify: bool = True, ca_bundle: str | None = None) -> ssl.SSLContext:
    """The client context: system CAs or ca_bundle; no chain or name check with verify=False."""
    ctx = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_connector(
    verify: bool = True, ca_bundle: str | None = None, fingerprint: str | None = None
) -> aiohttp.TCPConnector:
    """The connection pool for these TLS options (call it inside the running loop)."""
    check: ssl.SSLContext | aiohttp.Fingerprint
    if fingerprint:
        # With a Fingerprint aiohttp uses a context without chain or name checks: the pin replaces both.
        check = aiohttp.Fingerprint(bytes.fromhex(normalise_fingerprint(fingerprint).replace(":", "")))
    else:
        check = make_ssl_context(verify, ca_bundle)
    return aiohttp.TCPConnector(
        ssl=check, limit=LIMITS.max_connections, keepalive_timeout=LIMITS.keepalive_expiry
    )
