"""The HTTP side of the PVE client: one long-lived aiohttp.ClientSession, token auth, form encoding, retries of
idempotent reads, and the mapping of every failure onto the error tree."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, BinaryIO

import aiohttp
import orjson
from yarl import URL

from app.proxmox.connection import PveConnection
from app.proxmox.errors import PveError, PveTlsError, PveUnavailable
from app.proxmox.failures import connect_failure, outcome, sent, unknown_outcome
from app.proxmox.observer import NullObserver, UpstreamObserver, path_template
from app.proxmox.responses import error_from_response
from app.proxmox.tls import make_connector
from app.proxmox.upload import upload_body
from app.proxmox.wire import Reply, Responder, WireRequest, wire_request

__all__ = ["PveSession"]

log = logging.getLogger(__name__)

# Seconds before the first retry of a GET, doubled for each further one.
BACKOFF = 0.1
# Bytes a status line or header may have: PVE puts its whole message in the reason phrase, and aiohttp's
# default (8190) would turn a long one into a parse error instead of PVE's words.
MAX_LINE = 65536


class PveSession:
    """Sends requests to PVE and returns their `data`, or raises from the error tree."""

    def __init__(
        self,
        connection: PveConnection,
        observer: UpstreamObserver | None = None,
        responder: Responder | None = None,
    ) -> None:
        self._conn = connection
        self._observer: UpstreamObserver = observer or NullObserver()
        self._responder = responder
        self._origin = f"https://{connection.address}"
        # Made at the first request: aiohttp binds a session to the loop it is made in.
        self._http: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once aclose() ran."""
        return self._closed

    async def aclose(self) -> None:
        """Close the connections."""
        self._closed = True
        if self._http is not None:
            await self._http.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            if self._closed:
                raise RuntimeError("the PVE session is closed")
            conn = self._conn
            self._http = aiohttp.ClientSession(
                connector=make_connector(conn.verify_tls, conn.ca_bundle, conn.fingerprint),
                headers={"Authorization": conn.authorization(), "Accept": "application/json"},
                # The call's deadline bounds every request; this only names a connection never made.
                timeout=aiohttp.ClientTimeout(total=None, connect=conn.timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                max_line_size=MAX_LINE,
                max_field_size=MAX_LINE,
            )
            # aiohttp sends a GET, PUT or DELETE once more by itself when the connection drops before the
            # answer. A PUT or DELETE is never sent twice (PVE may have carried out the first), and GETs are
            # retried by request() within the call's deadline; aiohttp has no parameter for it (its own
            # test client sets the same attribute).
            self._http._retry_connection = False
        return self._http

    async def request(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The `data` of the answer within one deadline (the connection's timeout, retries included); GETs are
        retried on connection trouble while time is left, nothing else ever is."""
        method = method.upper()
        request = wire_request(method, path, params)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._conn.timeout
        retries = self._conn.retries if method == "GET" else 0
        for attempt in range(retries + 1):
            try:
                return await self._attempt(path, request, deadline)
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
        answers once it holds the whole file, so `part_wait` is for each chunk sent and each read of the
        answer, not the whole upload."""
        start, status = time.perf_counter(), "error"
        try:
            reply = await self._send_upload(path, upload_body(fields, filename, file, part_wait), part_wait)
            status = str(reply.status)
        except BaseException as exc:
            status = outcome(exc)
            raise
        finally:
            self._observer.request_done("POST", path_template(path), status, time.perf_counter() - start)
        return self._data("POST", path, reply)

    async def _send_upload(self, path: str, body: aiohttp.MultipartWriter, part_wait: float) -> Reply:
        target, address = wire_request("POST", path, None).target, self._conn.address
        if self._responder is not None:
            content_type = f"multipart/form-data; boundary={body.boundary}"
            return await self._responder(WireRequest("POST", target, await body.as_bytes(), content_type))
        limits = aiohttp.ClientTimeout(total=None, connect=self._conn.timeout, sock_read=part_wait)
        try:
            return await self._exchange("POST", target, body, None, limits)
        except (aiohttp.ClientConnectorError, aiohttp.ServerFingerprintMismatch) as exc:
            raise connect_failure(exc, address, "POST", path) from exc
        except TimeoutError as exc:
            what = f"no answer while the file was sent{unknown_outcome('POST')}"
            raise sent(PveUnavailable(what, host=address, method="POST", path=path)) from exc
        except aiohttp.ClientError as exc:
            what = f"the connection was dropped while the file was sent{unknown_outcome('POST')}"
            raise sent(PveUnavailable(what, host=address, method="POST", path=path)) from exc

    async def _attempt(self, path: str, request: WireRequest, deadline: float) -> Any:
        method = request.method
        start = time.perf_counter()
        status = "error"
        try:
            async with asyncio.timeout_at(deadline):
                reply = await self._send(path, request)
            status = str(reply.status)
        except TimeoutError as exc:
            status = "timeout"
            what = f"no answer within {self._conn.timeout:g} s{unknown_outcome(method)}"
            raise sent(PveUnavailable(what, host=self._conn.address, method=method, path=path)) from exc
        except BaseException as exc:
            status = outcome(exc)
            raise
        finally:
            self._observer.request_done(method, path_template(path), status, time.perf_counter() - start)
        return self._data(method, path, reply)

    async def _send(self, path: str, request: WireRequest) -> Reply:
        if self._responder is not None:
            return await self._responder(request)
        method, address = request.method, self._conn.address
        headers = {"Content-Type": request.content_type} if request.content_type else None
        try:
            return await self._exchange(method, request.target, request.body or None, headers)
        except (aiohttp.ClientConnectorError, aiohttp.ServerFingerprintMismatch) as exc:
            raise connect_failure(exc, address, method, path) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            what = f"no connection within {self._conn.timeout:g} s"
            raise PveUnavailable(what, host=address, method=method, path=path) from exc
        except TimeoutError as exc:
            what = f"no answer within {self._conn.timeout:g} s{unknown_outcome(method)}"
            raise sent(PveUnavailable(what, host=address, method=method, path=path)) from exc
        except aiohttp.ClientError as exc:
            what = f"the connection was dropped before PVE answered{unknown_outcome(method)}"
            raise sent(PveUnavailable(what, host=address, method=method, path=path)) from exc

    async def _exchange(
        self,
        method: str,
        target: str,
        body: Any,
        headers: Mapping[str, str] | None,
        limits: aiohttp.ClientTimeout | None = None,
    ) -> Reply:
        """One request over the pool, and the whole answer read."""
        url = URL(self._origin + target, encoded=True)
        http = self._client()
        async with http.request(
            method, url, data=body, headers=headers, allow_redirects=False, timeout=limits or http.timeout
        ) as response:
            return Reply(response.status, response.reason or "", await response.read())

    def _data(self, method: str, path: str, reply: Reply) -> Any:
        status = reply.status
        if 200 <= status < 300:
            try:
                # orjson: /cluster/resources of a big cluster is megabytes; it decodes ~2x faster than json.
                body = orjson.loads(reply.body)
            except ValueError:
                raise PveError(
                    "PVE answered with something that is not JSON", status=status, method=method, path=path
                ) from None
            return body.get("data") if isinstance(body, dict) else None
        raise error_from_response(
            method,
            path,
            status,
            reply.reason,
            reply.body,
            host=self._conn.address,
            token_id=self._conn.token_id,
        )
