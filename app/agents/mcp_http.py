"""The MCP server at /mcp (streamable HTTP) inside the running app, on when PROXGATE_MCP_HTTP=true.

One code path: every tool call is a request to this app's own /api/v1, made in-process (httpx's ASGI
transport, no socket) with the caller's Bearer token, address and forwarded-for header. So the HTTP transport
passes the same role checks, approvals and audit log as `proxgate mcp` on stdio and as a script calling the
API; this module never looks up users or tokens, nor talks to Proxmox. An MCP session belongs to the token that
opened it (told apart by a digest of the token, through the SDK's own session ownership).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.agents.api import ApiError, ProxgateApi, user_agent
from app.agents.mcp_server import PRODUCT, build_server

PATH = "/mcp"
# Headers of the caller that the in-process API request carries on: who (the token) and from where (judged
# against PROXGATE_TRUSTED_PROXIES exactly as for a direct call, since the peer address is passed on too).
FORWARDED = ("authorization", "x-forwarded-for")


def loopback(app: ASGIApp, request: Request, agent: str) -> ProxgateApi:
    """A client of this app's /api/v1 that acts as the caller of `request`."""
    peer = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 0)
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False, client=peer),
        base_url=str(request.base_url).rstrip("/"),
        headers={**headers, "Accept": "application/json"},
        timeout=httpx.Timeout(30.0),
    )
    return ProxgateApi(http, agent)


class TokenGate:
    """Refuses /mcp without a Bearer token the API accepts (401, as the API answers), then hands on, naming
    the token so that an MCP session answers only the token that opened it."""

    def __init__(self, app: ASGIApp, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        refusal = await self.refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        # The SDK's session manager binds a session to the user that opened it and answers any other with 404
        # "Session not found", as if the session did not exist (a stolen session id is worth nothing). The
        # name is a digest of the token: the secret itself is not kept with the session.
        scope["user"] = token_user(request.headers["authorization"][7:].strip())
        await self.inner(scope, receive, send)

    async def refusal(self, request: Request) -> JSONResponse | None:
        """None when the token is good; else the API's own answer to it."""
        if not request.headers.get("authorization", "").lower().startswith("bearer "):
            return unauthorized("Send a Proxgate API token: Authorization: Bearer pxg_...")
        async with loopback(self.app, request, user_agent(PRODUCT)) as api:
            try:
                await api.get("/api/v1/me")
            except ApiError as exc:
                return (
                    unauthorized(exc.detail)
                    if exc.status == 401
                    else JSONResponse({"detail": exc.detail}, status_code=exc.status or 502)
                )
        return None


def token_user(token: str) -> AuthenticatedUser:
    """The caller as the MCP SDK's session manager knows it: one name per token."""
    name = hashlib.sha256(token.encode()).hexdigest()
    return AuthenticatedUser(AccessToken(token=name, client_id=name, scopes=[]))


def unauthorized(detail: str) -> JSONResponse:
    """401 with the challenge MCP clients look for."""
    return JSONResponse(
        {"detail": detail}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="proxgate"'}
    )


def mount_mcp(app: FastAPI, read_only: bool = False) -> None:
    """Serve the MCP server at /mcp and run its session manager for the app's life; read_only
    (PROXGATE_MCP_READ_ONLY) offers the reads only."""

    @asynccontextmanager
    async def open_api(ctx: ServerRequestContext[Any], agent: str) -> AsyncIterator[ProxgateApi]:
        if not isinstance(ctx.request, Request):
            raise RuntimeError("an MCP message reached /mcp without its HTTP request")
        async with loopback(app, ctx.request, agent) as api:
            yield api

    # Sessions (in this process) keep the client's name from its initialize request for the audit log; a
    # 2026-07-28 client sends it with every request and needs none. The Bearer token, not the Host header, is
    # what keeps other sites out, so the SDK's localhost-only Host check is off. Answers are streamed (SSE):
    # a wait's progress notifications go out as they come, and the stream's pings keep proxies from closing
    # a call that waits minutes for a person.
    manager = StreamableHTTPSessionManager(
        app=build_server(open_api, read_only),
        json_response=False,
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.router.routes.append(
        Route(PATH, TokenGate(app, StreamableHTTPASGIApp(manager)), include_in_schema=False)
    )
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(host: Any) -> AsyncIterator[Any]:
        async with inner(host) as state, manager.run():
            yield state

    app.router.lifespan_context = lifespan
