"""Agents and scripts: the MCP server and `proxgate ctl`, clients of /api/v1 only (never the services or the DB)."""
