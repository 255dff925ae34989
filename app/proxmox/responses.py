"""Turning PVE's HTTP answers into data or into the error tree (pure functions, no I/O)."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from app.proxmox.errors import (
    ErrorContext,
    PveAuthError,
    PveError,
    PveForbidden,
    PveNotFound,
    PveRejected,
    PveUnavailable,
)

__all__ = ["error_from_response", "node_of", "parse_body", "upstream_message"]

# 500s whose text says the thing asked for is not there (FACTS.md section 2 and 3).
NOT_FOUND_RE = re.compile(
    r"does not exist|unable to find configuration file|no such task|unable to parse worker upid"
    r"|hostname lookup '[^']*' failed",
    re.IGNORECASE,
)
NODE_RE = re.compile(r"^/nodes/([^/]+)")


def node_of(path: str) -> str | None:
    """The node a /nodes/{node}/... path is proxied to."""
    found = NODE_RE.match(path)
    return found.group(1) if found else None


def parse_body(content: bytes) -> dict[str, Any]:
    """The JSON object of a body, or {} when it is empty or not a JSON object (401s, proxies' HTML)."""
    if not content:
        return {}
    try:
        body = json.loads(content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def upstream_message(status: int, reason: str, body: dict[str, Any]) -> str:
    """PVE's message: the reason phrase first (every PVE version sends it), the body's `message` second.

    The `message` key only exists since pve-http-server 5.2 (2025). The reason phrase is the first line of
    the message, so when the body's message starts with it the body's (complete, multi-line) text is kept.
    """
    reason = reason.strip()
    generic = _standard_phrase(status)
    text = body.get("message")
    full = text.rstrip("\n") if isinstance(text, str) else ""
    if reason and reason != generic:
        return full if full.startswith(reason) else reason
    return full or reason


def _standard_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def error_from_response(
    method: str, path: str, status: int, reason: str, content: bytes, *, host: str = "", token_id: str = ""
) -> PveError:
    """The error for a non-2xx answer: its class from the status and message, PVE's own text kept."""
    body = parse_body(content)
    message = upstream_message(status, reason, body)
    raw_errors = body.get("errors")
    errors = {str(k): str(v) for k, v in raw_errors.items()} if isinstance(raw_errors, dict) else {}
    ctx: ErrorContext = {"status": status, "errors": errors, "method": method, "path": path}
    if status == 401:
        return PveAuthError(message, token_id=token_id, **ctx)
    if status == 403:
        return PveForbidden(message, token_id=token_id, **ctx)
    if status in (595, 596):
        return PveUnavailable(message or "node unreachable", host=host, node=node_of(path), **ctx)
    if status in (502, 503, 504):
        return PveUnavailable(message or f"HTTP {status}", host=host, **ctx)
    if status in (404, 501) or _says_not_found(status, message, errors):
        return PveNotFound(message or f"{method} {path} not found", **ctx)
    if status == 400:
        return PveRejected(message or "Parameter verification failed.", **ctx)
    return PveError(message or f"HTTP {status}", **ctx)


def _says_not_found(status: int, message: str, errors: dict[str, str]) -> bool:
    # An unknown task is a 400 with {"upid": "no such task"}; other 400s name a bad parameter value, which
    # may also say 'does not exist' (a boot device) and stays a PveRejected.
    if status == 400:
        return bool(NOT_FOUND_RE.search(errors.get("upid", "")))
    return status >= 500 and bool(NOT_FOUND_RE.search(message))
