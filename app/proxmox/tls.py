"""TLS for the PVE connection: system CAs by default, a private CA bundle, or a pinned fingerprint.

Pinning is for PVE's self-signed certificate: the chain is not verified (CERT_NONE), instead the sha256 of the
certificate the server presents must equal the pin (as PVE shows it: 'AB:CD:...'). The check runs right after
the TLS handshake, inside the connection's network stream, so a wrong certificate never sees a request byte
(the API token header included).
"""

from __future__ import annotations

import hashlib
import re
import ssl
import typing

import httpcore2
import httpx2

from app.proxmox.errors import PveTlsError
from app.proxmox.streams import AsyncioBackend

__all__ = [
    "PinningBackend",
    "PoolTransport",
    "fingerprint_of",
    "make_transport",
    "make_ssl_context",
    "normalise_fingerprint",
]

# Connections the client keeps. Reading every guest's config (the IP index) keeps 64 requests in flight, so that
# a cluster's round trips overlap; every connection kept open may be reused: opening TLS afresh per request
# costs more than the request. httpcore2's pool assigns a request in O(connections), httpcore 1.0's in
# O(connections x waiting requests): at 64 connections that was 2 to 5 ms of CPU per request.
LIMITS = httpx2.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=4.0)


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


def make_ssl_context(
    verify: bool = True, ca_bundle: str | None = None, fingerprint: str | None = None
) -> ssl.SSLContext:
    """The client context: system CAs or ca_bundle; no chain check when pinning or with verify=False."""
    ctx = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    if fingerprint or not verify:
        # Pinning replaces chain and name checks with the fingerprint check in PinnedStream.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class PinnedStream(httpcore2.AsyncNetworkStream):
    """A network stream whose TLS handshake fails unless the certificate has the pinned fingerprint.

    The `timeout` parameters are httpcore's interface, hence the ASYNC109 exemptions.
    """

    def __init__(self, stream: httpcore2.AsyncNetworkStream, pin: str, address: str) -> None:
        self._stream = stream
        self._pin = pin
        self._address = address

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """Read from the wrapped stream."""
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Write to the wrapped stream."""
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        """Close the wrapped stream."""
        await self._stream.aclose()

    def get_extra_info(self, info: str) -> typing.Any:
        """Ask the wrapped stream."""
        return self._stream.get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        """Handshake, then compare the certificate with the pin before anything is sent."""
        stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        ssl_object = stream.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        presented = fingerprint_of(der) if der else "none"
        if presented != self._pin:
            await stream.aclose()
            raise PveTlsError(
                f"The TLS certificate of {self._address} is not the pinned one: expected fingerprint "
                f"{self._pin}, presented {presented}; check PROXMOX_TLS_FINGERPRINT",
                expected=self._pin,
                presented=presented,
                host=self._address,
            )
        return stream


class PinningBackend(httpcore2.AsyncNetworkBackend):
    """The pool's network backend, with every TCP stream wrapped in a PinnedStream."""

    def __init__(self, pin: str, backend: httpcore2.AsyncNetworkBackend | None = None) -> None:
        self._pin = pin
        self._backend = backend or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """Connect, and wrap the stream so that its TLS handshake checks the pin."""
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return PinnedStream(stream, self._pin, f"{host}:{port}")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does."""
        await self._backend.sleep(seconds)


class PoolTransport(httpx2.AsyncHTTPTransport):
    """httpx2's transport over a connection pool on asyncio's streams (AsyncioBackend), or on a backend that
    pins the certificate."""

    def __init__(self, ctx: ssl.SSLContext, backend: httpcore2.AsyncNetworkBackend) -> None:
        super().__init__(verify=ctx, trust_env=False, limits=LIMITS)
        # httpx2 has no parameter for the network backend; its transport only uses `_pool`.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=ctx,
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=backend,
        )


def make_transport(
    verify: bool = True, ca_bundle: str | None = None, fingerprint: str | None = None
) -> httpx2.AsyncHTTPTransport:
    """The transport for these TLS options (never retries by itself: the client decides what to retry)."""
    ctx = make_ssl_context(verify, ca_bundle, fingerprint)
    if fingerprint:
        return PoolTransport(ctx, PinningBackend(normalise_fingerprint(fingerprint)))
    return PoolTransport(ctx, AsyncioBackend())
