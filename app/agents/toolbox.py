"""Every read tool of the MCP server, by name: those that answer one thing and the listings."""

from __future__ import annotations

from app.agents.list_tools import LIST_TOOLS
from app.agents.read_tools import ONE_TOOLS, ReadTool

READ_TOOLS: tuple[ReadTool, ...] = (*ONE_TOOLS, *LIST_TOOLS)
BY_NAME = {tool.name: tool for tool in READ_TOOLS}
