"""Every tool of the MCP server besides the catalogue's operations, by name: those that answer one thing, the
listings, the bulk tools (a batch of one operation on many guests), and a node's log and the side-door alerts."""

from __future__ import annotations

from app.agents.bulk_tools import BULK_TOOLS
from app.agents.list_tools import LIST_TOOLS
from app.agents.read_tools import ONE_TOOLS, ReadTool
from app.agents.watch_tools import WATCH_TOOLS

READ_TOOLS: tuple[ReadTool, ...] = (*ONE_TOOLS, *LIST_TOOLS, *BULK_TOOLS, *WATCH_TOOLS)
BY_NAME = {tool.name: tool for tool in READ_TOOLS}
