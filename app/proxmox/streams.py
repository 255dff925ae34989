"""The network backend of the PVE client's connection pool: asyncio's own streams instead of anyio's.

Under uvicorn the loop is uvloop, whose TLS runs in C; anyio's TLS stream drives ssl.SSLObject from Python and
builds a dict of socket attributes each time the pool asks whether an idle connection was closed (on every
request, for every pooled connection). Reading the IP index, that was half of the client's CPU per request.
"""

from __future__ import annotations

import asyncio
import ssl
import typing
from collections.abc import Iterable

import httpcore2

__all__ = ["AsyncioBackend", "AsyncioStream"]

# What a stream's get_extra_info() names, in asyncio's words.
EXTRA_INFO = {
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
    "ssl_object": "ssl_object",
}


class AsyncioStream(httpcore2.AsyncNetworkStream):
    """One TCP (later TLS) connection as an asyncio reader and writer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """Up to max_bytes, b"" once the server closed the connection."""
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:  # before OSError, whose subclass it is
            raise httpcore2.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Send buffer, waiting while the socket's send buffer is full."""
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore2.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        """Close the connection (the TLS close alert goes out in the background)."""
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        """The TLS handshake on this connection; closed again when it fails."""
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.close()
            raise httpcore2.ConnectTimeout(str(exc)) from exc
        except OSError as exc:  # ssl.SSLError among them: the session names the TLS trouble from the cause
            self._writer.close()
            raise httpcore2.ConnectError(str(exc) or type(exc).__name__) from exc
        except BaseException:
            self._writer.close()
            raise
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        """What the pool asks: is_readable (an idle connection the server closed), the TLS object, addresses."""
        if info == "is_readable":
            # The loop reads every socket as data comes, so a closed connection shows as the reader's end.
            reader = self._reader
            return reader.at_eof() or reader.exception() is not None or self._writer.is_closing()
        name = EXTRA_INFO.get(info)
        return self._writer.get_extra_info(name) if name else None


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    """Opens AsyncioStreams."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """A TCP connection to host:port (asyncio sets TCP_NODELAY)."""
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """PVE is reached over TCP only."""
        raise httpcore2.ConnectError("the PVE client connects over TCP only")

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running loop."""
        await asyncio.sleep(seconds)
