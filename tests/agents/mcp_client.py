"""Driving Proxgate's MCP server with the SDK's own client: over stdio (`proxgate mcp` as a subprocess) or
over streamable HTTP (/mcp of a running app)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

PROXGATE = str(Path(sys.executable).parent / "proxgate")
# The checkout under test: `proxgate mcp` imports it, not the one the virtual environment was installed from.
CHECKOUT = str(Path(__file__).resolve().parents[2])
AGENT = types.Implementation(name="test-agent", version="1.0")


def mcp_env(url: str, token: str, **extra: str) -> dict[str, str]:
    """The environment of `proxgate mcp` (and extra variables), importing the checkout under test."""
    env = {"PROXGATE_URL": url, "PROXGATE_TOKEN": token, "PATH": os.environ.get("PATH", ""), **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [CHECKOUT, os.environ.get("PYTHONPATH")]))
    return env


@asynccontextmanager
async def stdio_session(url: str, token: str, **extra: str) -> AsyncIterator[ClientSession]:
    """An initialized session with `proxgate mcp` running as a child process."""
    server = StdioServerParameters(command=PROXGATE, args=["mcp"], env=mcp_env(url, token, **extra))
    async with (
        stdio_client(server) as (read, write),
        ClientSession(read, write, client_info=AGENT) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def http_session(
    url: str, token: str, session_ids: list[str] | None = None, **extra: str
) -> AsyncIterator[ClientSession]:
    """An initialized session with the app's /mcp, sending the token as a Bearer header (and extra headers);
    the MCP session ids the server hands out are appended to session_ids."""
    headers = {"Authorization": f"Bearer {token}", **extra}

    async def note(response: httpx2.Response) -> None:
        if session_ids is not None and "mcp-session-id" in response.headers:
            session_ids.append(response.headers["mcp-session-id"])

    async with (
        httpx2.AsyncClient(headers=headers, timeout=60, event_hooks={"response": [note]}) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write, client_info=AGENT) as session,
    ):
        await session.initialize()
        yield session


def text_of(result: types.CallToolResult) -> str:
    """The text a model reads."""
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def call(session: ClientSession, name: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; its answer (the structured content, which the SDK's client checked
    against the tool's output schema)."""
    result = await session.call_tool(name, arguments)
    assert not result.is_error, text_of(result)
    return result.structured_content
