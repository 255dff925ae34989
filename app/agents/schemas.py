"""JSON schema pieces the MCP tools share: their arguments, and the shapes of their answers.

Every tool's schemas are sent with tools/list, once per session and at every change of the catalogue, so each
piece says what a model needs and no more: the API's OpenAPI document has the rest.
"""

from __future__ import annotations

from typing import Any

from app.agents.waiting import DEFAULT_WAIT, MAX_WAIT

# Items a listing tool answers unless asked for more; the API takes 1-500.
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

VMID = {"type": "integer", "minimum": 100}
NODE = {"type": "string", "maxLength": 64, "description": "e.g. pve1"}
STORAGE = {"type": "string", "maxLength": 64}
REQUEST_ID = {"type": "integer", "minimum": 1}
UPID = {"type": "string", "maxLength": 512, "description": "A task's UPID"}
CURSOR = {"type": "string", "maxLength": 200}
GUEST_STATUS = {"type": "string", "enum": ["running", "stopped", "paused", "unknown"]}
WAIT = {"type": "integer", "minimum": 1, "maximum": MAX_WAIT, "default": int(DEFAULT_WAIT)}
LOG_LINES = {"type": "integer", "minimum": 1, "maximum": 5000, "default": 50, "description": "Last log lines"}


def limit(default: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The page size argument."""
    return {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": default}


def answer(*required: str, **types: Any) -> dict[str, Any]:
    """The schema of an object answer: the keys it always has, and the JSON type of a few (a type name, or a
    schema). The tool's description says the rest: every schema is sent with every tools/list."""
    out: dict[str, Any] = {"type": "object"}
    if types:
        out["properties"] = {k: {"type": v} if isinstance(v, str | list) else v for k, v in types.items()}
    if required:
        out["required"] = list(required)
    return out


ANY_OBJECT: dict[str, Any] = {"type": "object"}
TEXT_OR_NULL = ["string", "null"]
# A listing's answer: one page of items, the whole list's total, and the next page's cursor (null at the end).
PAGE = answer("items", "total", "next_cursor", items="array", next_cursor=TEXT_OR_NULL)
# What a change answers: started, succeeded, failed, running (still, when the wait ended), pending, or the
# state of the request it waited for.
CHANGE = answer("status")
