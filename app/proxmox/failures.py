"""Why a request to PVE got no answer, in words a user knows: aiohttp's exceptions onto the error tree."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import aiohttp

from app.proxmox.errors import PveTlsError, PveUnavailable
from app.proxmox.tls import pinned_fingerprint

__all__ = ["TLS_HELP", "connect_failure", "outcome", "sent", "unknown_outcome"]

TLS_HELP = "set PROXMOX_CA_BUNDLE to the CA that signed it, or pin it with PROXMOX_TLS_FINGERPRINT"


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _connect_reason(exc: BaseException) -> str:
    """Why a connection failed, in words a user knows."""
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return "the host name cannot be resolved"
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            return "connection refused (is pveproxy running, and is the port right?)"
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "no route to host"
    return str(exc) or type(exc).__name__


def unknown_outcome(method: str) -> str:
    """What to add when a change was sent but its answer never came."""
    return "" if method == "GET" else "; the change may or may not have been made, check the task list"


def sent(exc: PveUnavailable) -> PveUnavailable:
    """Mark an error raised after the request went out: a change may have been applied."""
    exc.maybe_applied = exc.method != "GET"
    return exc


def connect_failure(
    exc: aiohttp.ClientConnectorError | aiohttp.ServerFingerprintMismatch,
    address: str,
    method: str,
    path: str,
) -> PveUnavailable:
    """The error for a connection that was never made: nothing of the request was sent."""
    if isinstance(exc, aiohttp.ServerFingerprintMismatch):
        expected, presented = pinned_fingerprint(exc.expected), pinned_fingerprint(exc.got)
        return PveTlsError(
            f"The TLS certificate of {address} is not the pinned one: expected fingerprint "
            f"{expected}, presented {presented}; check PROXMOX_TLS_FINGERPRINT",
            expected=expected,
            presented=presented,
            host=address,
            method=method,
            path=path,
        )
    for cause in _causes(exc):
        if isinstance(cause, aiohttp.ClientError):
            continue  # aiohttp's TLS errors subclass ssl's, without its details: those are on their cause
        if isinstance(cause, ssl.SSLCertVerificationError):
            why = getattr(cause, "verify_message", "") or "verification failed"
            text = f"The TLS certificate of {address} is not trusted ({why}); {TLS_HELP}"
            return PveTlsError(text, host=address, method=method, path=path)
        if isinstance(cause, ssl.SSLError):
            why = getattr(cause, "reason", "") or str(cause)
            text = f"The TLS handshake with {address} failed ({why}); is it PVE's API port?"
            return PveTlsError(text, host=address, method=method, path=path)
    return PveUnavailable(_connect_reason(exc), host=address, method=method, path=path)


def outcome(exc: BaseException) -> str:
    """The status label of a failed attempt."""
    if isinstance(exc, PveTlsError):
        return "tls_error"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    cause = exc.__cause__
    if isinstance(cause, TimeoutError):
        return "timeout"
    if isinstance(cause, aiohttp.ClientConnectorError):
        return "connect_error"
    return "dropped" if isinstance(exc, PveUnavailable) else "error"
