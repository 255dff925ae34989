"""One naming convention for every MCP tool: snake_case, a verb first (list_guests, delete_guest, create_vm).

A change tool is named after its operation of the catalogue: the operation's name in snake_case, and a one-word
operation (start, delete, rollback) takes `_guest`, the thing it acts on or makes. `proxgate ctl` and the API
keep the catalogue's own names (`delete`, `create-vm`)."""

from __future__ import annotations

from typing import Any


def tool_name(operation: str) -> str:
    """The MCP tool of an operation: 'delete' -> 'delete_guest', 'create-vm' -> 'create_vm'."""
    name = operation.replace("-", "_")
    return name if "_" in name else f"{name}_guest"


def by_tool_name(catalogue: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The catalogue's operations by their tool names."""
    return {tool_name(op["name"]): op for op in catalogue}
