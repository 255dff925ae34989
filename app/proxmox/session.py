"""The HTTP side of the PVE client: one long-lived httpx2.AsyncClient, token auth, form encoding, retries of
idempotent reads, and the mapping of every failure onto the error tree."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any, BinaryIO

import httpx2
import orjson

from app.proxmox.connection import PveConnection
from app.proxmox.errors import PveError, PveTlsError, PveUnavailable
from app.proxmox.observer import NullObserver, UpstreamObserver, path_template
from app.proxmox.responses import error_from_response
from app.proxmox.tls import make_transport

__all__ = ["PveSession", "encode_params"]

log = logging.getLogger(__name__)

# Seconds before the first retry of a GET, doubled for each further one.
BACKOFF = 0.1
TLS_HELP = "set PROXMOX_CA_BUNDLE to the CA that signed it, or pin it with PROXMOX_TLS_FINGERPRINT"


def _form_value(value: Any) -> Any:
    # PVE's form decoder takes booleans only as 1/0 ('true' is a 400); lists become repeated keys.
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return [_form_value(item) for item in value]
    return str(value)


def encode_params(method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """httpx2 keyword arguments: the query for GET/DELETE, a urlencoded form ('+' as %2B) for POST/PUT."""
    clean = {k: _form_value(v) for k, v in (params or {}).items() if v is not None}
    if not clean:
        return {}
    return {"params": clean} if method in ("GET", "DELETE", "HEAD") else {"data": clean}


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


def _unknown_outcome(method: str) -> str:
    """What to add when a change was sent but its answer never came."""
    return "" if method == "GET" else "; the change may or may not have been made, check the task list"


def _sent(exc: PveUnavailable) -> PveUnavailable:
    """Mark an error raised after the request went out: a change may have been applied."""
    exc.maybe_applied = exc.method != "GET"
    return exc


def _outcome(exc: BaseException) -> str:
    """The status label of a failed attempt."""
    if isinstance(exc, PveTlsError):
        return "tls_error"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    cause = exc.__cause__
    if isinstance(cause, httpx2.TimeoutException):
        return "timeout"
    if isinstance(cause, httpx2.ConnectError):
        return "connect_error"
    return "dropped" if isinstance(exc, PveUnavailable) else "error"


class PveSession:
    """Sends requests to PVE and returns their `data`, or raises from the error tree."""

    def __init__(
        self,
        connection: PveConnection,
        observer: UpstreamObserver | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._conn = connection
        self._observer: UpstreamObserver = observer or NullObserver()
        self._http = httpx2.AsyncClient(
            base_url=connection.base_url,
            headers={"Authorization": connection.authorization(), "Accept": "application/json"},
            timeout=connection.timeout,
            transport=transport
            or make_transport(connection.verify_tls, connection.ca_bundle, connection.fingerprint),
            trust_env=False,
            follow_redirects=False,
        )

    @property
    def closed(self) -> bool:
        """True once aclose() ran."""
        return self._http.is_closed

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def request(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The `data` of the answer within one deadline (the connection's timeout, retries included); GETs are
        retried on connection trouble while time is left, nothing else ever is."""
        method = method.upper()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._conn.timeout
        retries = self._conn.retries if method == "GET" else 0
        for attempt in range(retries + 1):
            try:
                return await self._attempt(method, path, params, deadline)
            except PveTlsError:
                raise
            except PveUnavailable as exc:
                pause = BACKOFF * 2**attempt
                if attempt == retries or loop.time() + pause >= deadline:
                    raise
                log.info("retrying GET %s after: %s", path_template(path), exc)
            await asyncio.sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def upload(
        self, path: str, fields: Mapping[str, Any], filename: str, file: BinaryIO, part_wait: float
    ) -> Any:
        """POST path as multipart form data: the fields, then the file streamed from disk (never retried). PVE
        answers once it holds the whole file, so `part_wait` is for each read and write, not the whole upload."""
        start, outcome = time.perf_counter(), "error"
        limits = httpx2.Timeout(self._conn.timeout, read=part_wait, write=part_wait)
        data = {k: str(_form_value(v)) for k, v in fields.items() if v is not None}
        try:
            response = await self._http.post(
                path,
                data=data,
                files={"filename": (filename, file, "application/octet-stream")},
                timeout=limits,
            )
            outcome = str(response.status_code)
        except httpx2.TimeoutException as exc:
            outcome = "timeout"
            what = f"no answer while the file was sent{_unknown_outcome('POST')}"
            raise _sent(PveUnavailable(what, host=self._conn.address, method="POST", path=path)) from exc
        except httpx2.TransportError as exc:
            what = f"the connection was dropped while the file was sent{_unknown_outcome('POST')}"
            raise _sent(PveUnavailable(what, host=self._conn.address, method="POST", path=path)) from exc
        finally:
            self._observer.request_done("POST", path_template(path), outcome, time.perf_counter() - start)
        return self._data("POST", path, response)

    async def _attempt(
        self, method: str, path: str, params: Mapping[str, Any] | None, deadline: float
    ) -> Any:
        start = time.perf_counter()
        outcome = "error"
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._send(method, path, params)
            outcome = str(response.status_code)
        except TimeoutError as exc:
            outcome = "timeout"
            what = f"no answer within {self._conn.timeout:g} s{_unknown_outcome(method)}"
            raise _sent(PveUnavailable(what, host=self._conn.address, method=method, path=path)) from exc
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            self._observer.request_done(method, path_template(path), outcome, time.perf_counter() - start)
        return self._data(method, path, response)

    async def _send(self, method: str, path: str, params: Mapping[str, Any] | None) -> httpx2.Response:
        address = self._conn.address
        try:
            return await self._http.request(method, path, **encode_params(method, params))
        except PveTlsError as exc:  # the pinned-fingerprint check, raised inside the handshake
            exc.method, exc.path = method, path
            raise
        except (httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            what = f"no connection within {self._conn.timeout:g} s"
            raise PveUnavailable(what, host=address, method=method, path=path) from exc
        except httpx2.ConnectError as exc:
            raise self._connect_error(exc, method, path) from exc
        except httpx2.TimeoutException as exc:
            what = f"no answer within {self._conn.timeout:g} s{_unknown_outcome(method)}"
            raise _sent(PveUnavailable(what, host=address, method=method, path=path)) from exc
        except httpx2.TransportError as exc:
            what = f"the connection was dropped before PVE answered{_unknown_outcome(method)}"
            raise _sent(PveUnavailable(what, host=address, method=method, path=path)) from exc

    def _connect_error(self, exc: httpx2.ConnectError, method: str, path: str) -> PveUnavailable:
        address = self._conn.address
        for cause in _causes(exc):
            if isinstance(cause, ssl.SSLCertVerificationError):
                why = getattr(cause, "verify_message", "") or "verification failed"
                text = f"The TLS certificate of {address} is not trusted ({why}); {TLS_HELP}"
                return PveTlsError(text, host=address, method=method, path=path)
            if isinstance(cause, ssl.SSLError):
                why = getattr(cause, "reason", "") or str(cause)
                text = f"The TLS handshake with {address} failed ({why}); is it PVE's API port?"
                return PveTlsError(text, host=address, method=method, path=path)
        return PveUnavailable(_connect_reason(exc), host=address, method=method, path=path)

    def _data(self, method: str, path: str, response: httpx2.Response) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            try:
                # orjson: /cluster/resources of a big cluster is megabytes; it decodes ~2x faster than json.
                body = orjson.loads(response.content)
            except ValueError:
                raise PveError(
                    "PVE answered with something that is not JSON", status=status, method=method, path=path
                ) from None
            return body.get("data") if isinstance(body, dict) else None
        raise error_from_response(
            method,
            path,
            status,
            response.reason_phrase,
            response.content,
            host=self._conn.address,
            token_id=self._conn.token_id,
        )
