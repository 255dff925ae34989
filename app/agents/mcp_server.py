"""The Proxgate MCP server: tools generated from the operations catalogue plus read tools, all answered by
/api/v1 with the agent's own token. `proxgate mcp` serves it on stdio; app/agents/mcp_http.py serves the very
same server at /mcp inside the app."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import mcp_types as types
from jsonschema import Draft202012Validator
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from app.agents.answers import change_summary
from app.agents.api import VERSION, ApiConfig, ApiError, ProxgateApi, user_agent
from app.agents.mcp_tools import READ_ONLY_REFUSAL, may_change, offered_tools
from app.agents.op_tools import own_schema, run_operation
from app.agents.tool_names import by_tool_name
from app.agents.toolbox import BY_NAME
from app.agents.waiting import REPORT, Report

log = logging.getLogger(__name__)
PRODUCT = "proxgate-mcp"
ApiOpener = Callable[[ServerRequestContext[Any], str], AbstractAsyncContextManager[ProxgateApi]]
INSTRUCTIONS = (
    "Proxgate runs a Proxmox VE cluster for a team. You act with your own Proxgate API token: every change is "
    "recorded in the audit log under its name, and the changes whose tools say so (every destructive one) wait "
    "for a second person to approve them. Read first (get_guest, list_snapshots, list_tasks); take a "
    "snapshot before a risky change; never guess an IP address: use list_ips and list_free_ips. Listings answer a "
    "page at a time: pass next_cursor back as cursor for the next one."
)


class ToolRefused(Exception):
    """The tool cannot run as called; the message says why in words the model can act on."""


def client_name(ctx: ServerRequestContext[Any]) -> str | None:
    """The MCP client's name and version from its initialize request, else the HTTP caller's User-Agent."""
    params = ctx.session.client_params
    if params is not None:
        return f"{params.client_info.name} {params.client_info.version}".strip()
    request = ctx.request
    headers = getattr(request, "headers", None)
    return headers.get("user-agent") if headers is not None else None


def agent_of(ctx: ServerRequestContext[Any]) -> str:
    """The User-Agent of this call's requests to /api/v1, which the audit log keeps."""
    return user_agent(PRODUCT, client_name(ctx))


def build_server(open_api: ApiOpener, read_only: bool = False) -> Server[Any]:
    """The server; open_api gives the /api/v1 client for one call (stdio: the environment's token; HTTP: the
    caller's). read_only (PROXGATE_MCP_READ_ONLY) offers and runs the reads only."""

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        async with open_api(ctx, agent_of(ctx)) as api:
            try:
                me = await api.get("/api/v1/me")
                changes = may_change(me["role"], read_only)
                catalogue = await api.collect("/api/v1/operations") if changes else []
            except ApiError as exc:
                raise MCPError(types.INTERNAL_ERROR, f"Proxgate: {exc}") from None
        return types.ListToolsResult(tools=offered_tools(catalogue, me["role"], read_only))

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        args = dict(params.arguments or {})
        reporting = REPORT.set(progress_of(ctx))
        async with open_api(ctx, agent_of(ctx)) as api:
            try:
                result = await dispatch(api, params.name, args, read_only)
            except ApiError as exc:
                return failure(refusal(exc))
            except ToolRefused as exc:
                await record_refusal(api, params.name, args, str(exc))
                return failure(str(exc))
            except Exception:
                # The model gets a plain sentence; the traceback stays in the server's log.
                log.exception("tool %s failed", params.name)
                return failure(f"The tool {params.name} failed inside proxgate mcp; see its log.")
            finally:
                REPORT.reset(reporting)
        tool = BY_NAME.get(params.name)
        summary = tool.summary(result) if tool is not None else change_summary(result)
        return success(result, summary, failed=result.get("status") == "failed")

    return Server(
        "proxgate",
        version=VERSION,
        title="Proxgate",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def progress_of(ctx: ServerRequestContext[Any]) -> Report | None:
    """What sends a wait's progress to the client, when it asked for progress (a progressToken in _meta)."""
    token = (ctx.meta or {}).get("progress_token")
    if token is None:
        return None

    async def report(waited: float, most: float, words: str) -> None:
        message = f"{words} Waited {waited:.0f} s of at most {most:.0f} s."
        related = str(ctx.request_id) if ctx.request_id is not None else None
        await ctx.session.send_progress_notification(token, waited, most, message, related)

    return report


async def dispatch(api: ProxgateApi, name: str, args: dict[str, Any], read_only: bool) -> dict[str, Any]:
    """Run the named tool: a read tool, or an operation of the catalogue; its answer as a JSON object."""
    tool = BY_NAME.get(name)
    if tool is not None:
        if read_only and not tool.read_only:
            raise ToolRefused(READ_ONLY_REFUSAL.format(name=name))
        check_arguments(tool.schema, args)
        result = await tool.run(api, args)
        return result if isinstance(result, dict) else {"result": result}
    op = by_tool_name(await api.collect("/api/v1/operations")).get(name)
    if op is None:
        raise ToolRefused(f"There is no tool '{name}'; list the tools to see what Proxgate offers.")
    if read_only:
        raise ToolRefused(READ_ONLY_REFUSAL.format(name=name))
    check_arguments(own_schema(op), args)
    return await run_operation(api, op, args)


async def record_refusal(api: ProxgateApi, name: str, args: dict[str, Any], message: str) -> None:
    """Put a call this server refused itself on the audit record, under the caller's own token; the agent is
    told why either way, so a failure to record is only logged."""
    body = {"tool": name[:64], "arguments": args, "message": message[:500]}
    try:
        await api.post("/api/v1/refusals", body)
    except ApiError as exc:
        log.warning("could not record the refusal of %s: %s", name, exc)


def check_arguments(schema: dict[str, Any], args: dict[str, Any]) -> None:
    """ToolRefused naming the first argument that does not fit the tool's schema."""
    error = next(iter(Draft202012Validator(schema).iter_errors(args)), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path)
        raise ToolRefused(f"Invalid arguments{f' ({where})' if where else ''}: {error.message}")


def refusal(exc: ApiError) -> str:
    """Proxgate's own message, with what kind of answer it was."""
    if exc.status == 0:
        return str(exc)
    kind = {401: "not signed in", 403: "refused", 404: "not found", 409: "conflict", 422: "invalid"}.get(
        exc.status, "error"
    )
    return f"Proxgate {kind} (HTTP {exc.status}): {exc}"


def success(result: dict[str, Any], summary: str, failed: bool = False) -> types.CallToolResult:
    """The answer once, as structured content, and a line of text saying what it is (the JSON is not sent a
    second time as text: at thousands of guests that doubled answers that already strained a context)."""
    return types.CallToolResult(
        content=[types.TextContent(text=summary)], structured_content=result, is_error=failed
    )


def failure(message: str) -> types.CallToolResult:
    """A tool error the model can read and act on."""
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


class StartRefused(Exception):
    """Proxgate refuses the token (refused), or cannot be reached: nothing the server offers would work."""

    def __init__(self, message: str, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused


async def serve_stdio(config: ApiConfig, read_only: bool = False) -> None:
    """Serve on standard input and output until the client closes them, once Proxgate accepted the token
    (StartRefused saying why it did not: a client shows a server that failed to start, with its words)."""
    async with ProxgateApi.connect(config, user_agent(PRODUCT)) as shared:
        me = await identity(shared, config)
        only = " (reads only: PROXGATE_MCP_READ_ONLY)" if read_only else ""
        print(
            f"proxgate mcp: acting as {me['username']} ({me['role']}) at {config.url}{only}", file=sys.stderr
        )

        @asynccontextmanager
        async def open_api(ctx: ServerRequestContext[Any], agent: str) -> Any:
            yield shared.as_agent(agent)

        server = build_server(open_api, read_only)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


async def identity(api: ProxgateApi, config: ApiConfig) -> dict[str, Any]:
    """Who the token acts as (GET /api/v1/me); StartRefused naming what is wrong."""
    try:
        me: dict[str, Any] = await api.get("/api/v1/me")
    except ApiError as exc:
        if exc.status == 401:
            raise StartRefused(f"Proxgate at {config.url} refuses PROXGATE_TOKEN: {exc}", True) from None
        message = str(exc) if exc.status == 0 else f"Proxgate at {config.url}: {refusal(exc)}"
        raise StartRefused(message, exc.refused) from None
    return me
