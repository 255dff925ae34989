"""The tools as MCP lists them, and which of them a caller is offered: what its role may use (a viewer's token,
or a demoted user's, is offered the reads only; the side-door alerts only an approver's or an admin's), and only
reads on a read-only server."""

from __future__ import annotations

from typing import Any

import mcp_types as types

from app.agents.op_tools import tool_description, tool_schema
from app.agents.read_tools import ReadTool
from app.agents.schemas import CHANGE
from app.agents.tool_names import tool_name
from app.agents.toolbox import READ_TOOLS

# The roles that may change something (and cancel their own requests); a viewer only reads.
CHANGING_ROLES = frozenset({"operator", "approver", "admin"})
READ_ONLY_REFUSAL = (
    "This Proxgate MCP server offers only reads (PROXGATE_MCP_READ_ONLY=true): the tool {name} is not one of "
    "them. A person can make the change in Proxgate's web interface."
)


def may_change(role: str, read_only: bool) -> bool:
    """True when a caller of this role is offered the tools that change something."""
    return not read_only and role in CHANGING_ROLES


def offered_tools(catalogue: list[dict[str, Any]], role: str, read_only: bool) -> list[types.Tool]:
    """Every tool the caller may use: the reads, and the changes when its role and the server allow them."""
    changes = may_change(role, read_only)
    reads = [read_tool(tool) for tool in READ_TOOLS if offered(tool, role, changes)]
    return [*reads, *(operation_tool(op) for op in catalogue)] if changes else reads


def offered(tool: ReadTool, role: str, changes: bool) -> bool:
    """True when a caller of this role, offered changes or not, is offered the tool."""
    if tool.roles is not None and role not in tool.roles:
        return False
    return tool.read_only or changes


def read_tool(tool: ReadTool) -> types.Tool:
    """A read tool as MCP lists it."""
    # destructiveHint means something only for a tool that is not read-only.
    destructive = None if tool.read_only else tool.destructive
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
        name=tool_name(op["name"]),
        description=tool_description(op),
        input_schema=tool_schema(op),
        output_schema=CHANGE,
        annotations=hints,
    )
