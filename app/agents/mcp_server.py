"""The Proxgate MCP server: tools generated from the operations catalogue plus read tools, all answered by
/api/v1 with the agent's own token. `proxgate mcp` serves it on stdio; app/agents/mcp_http.py serves the very
same server at /mcp inside the app."""

from __future__ import annotations

import logging
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
from app.agents.op_tools import run_operation, tool_description, tool_schema
from app.agents.read_tools import ReadTool
from app.agents.schemas import CHANGE
from app.agents.toolbox import BY_NAME, READ_TOOLS

log = logging.getLogger(__name__)
PRODUCT = "proxgate-mcp"
ApiOpener = Callable[[ServerRequestContext[Any], str], AbstractAsyncContextManager[ProxgateApi]]
INSTRUCTIONS = (
    "Proxgate runs a Proxmox VE cluster for a team. You act with your own Proxgate API token: every change is "
    "recorded in the audit log under its name, and the changes whose tools say so (every destructive one) wait "
    "for a second person to approve them. Read first (get_guest, list_snapshots, list_tasks); take a "
    "snapshot before a risky change; never guess an IP address: use list_ips and free_ips. Listings answer a "
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


def build_server(open_api: ApiOpener) -> Server[Any]:
    """The server; open_api gives the /api/v1 client for one call (stdio: the environment's token; HTTP: the
    caller's)."""

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        async with open_api(ctx, agent_of(ctx)) as api:
            try:
                catalogue = await api.collect("/api/v1/operations")
            except ApiError as exc:
                raise MCPError(types.INTERNAL_ERROR, f"Proxgate: {exc}") from None
        tools = [operation_tool(op) for op in catalogue]
        return types.ListToolsResult(tools=[*map(read_tool, READ_TOOLS), *tools])

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        args = dict(params.arguments or {})
        async with open_api(ctx, agent_of(ctx)) as api:
            try:
                result = await dispatch(api, params.name, args)
            except ApiError as exc:
                return failure(refusal(exc))
            except ToolRefused as exc:
                return failure(str(exc))
            except Exception:
                # The model gets a plain sentence; the traceback stays in the server's log.
                log.exception("tool %s failed", params.name)
                return failure(f"The tool {params.name} failed inside proxgate mcp; see its log.")
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


async def dispatch(api: ProxgateApi, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run the named tool: a read tool, or an operation of the catalogue; its answer as a JSON object."""
    tool = BY_NAME.get(name)
    if tool is not None:
        check_arguments(tool.schema, args)
        result = await tool.run(api, args)
        return result if isinstance(result, dict) else {"result": result}
    catalogue = {op["name"]: op for op in await api.collect("/api/v1/operations")}
    op = catalogue.get(name)
    if op is None:
        raise ToolRefused(f"There is no tool '{name}'; list the tools to see what Proxgate offers.")
    check_arguments(tool_schema(op), args)
    return await run_operation(api, op, args)


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


def read_tool(tool: ReadTool) -> types.Tool:
    """A read tool as MCP lists it."""
    # destructiveHint means something only for a tool that is not read-only.
    destructive = None if tool.read_only else False
    hints = types.ToolAnnotations(
        read_only_hint=tool.read_only, destructive_hint=destructive, open_world_hint=False
    )
    return types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=tool.schema,
        output_schema=tool.output,
        annotations=hints,
    )


def operation_tool(op: dict[str, Any]) -> types.Tool:
    """A catalogue operation as MCP lists it (the catalogue names the ones that need approval)."""
    # readOnlyHint is false unless said (destructiveHint is true unless said, so it is always said).
    hints = types.ToolAnnotations(
        title=op["label"], destructive_hint=op["risk"] == "destructive", open_world_hint=False
    )
    return types.Tool(
        name=op["name"],
        description=tool_description(op),
        input_schema=tool_schema(op),
        output_schema=CHANGE,
        annotations=hints,
    )


def success(result: dict[str, Any], summary: str, failed: bool = False) -> types.CallToolResult:
    """The answer once, as structured content, and a line of text saying what it is (the JSON is not sent a
    second time as text: at thousands of guests that doubled answers that already strained a context)."""
    return types.CallToolResult(
        content=[types.TextContent(text=summary)], structured_content=result, is_error=failed
    )


def failure(message: str) -> types.CallToolResult:
    """A tool error the model can read and act on."""
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


async def serve_stdio(config: ApiConfig) -> None:
    """Serve on standard input and output until the client closes them."""
    async with ProxgateApi.connect(config, user_agent(PRODUCT)) as shared:

        @asynccontextmanager
        async def open_api(ctx: ServerRequestContext[Any], agent: str) -> Any:
            yield shared.as_agent(agent)

        server = build_server(open_api)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
