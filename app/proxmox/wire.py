"""What travels between the client and PVE: a request as PVE receives it, PVE's answer, and the seam that lets
the operation tests answer in memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

__all__ = ["API", "FORM", "Reply", "Responder", "WireRequest", "encode_form", "form_value", "wire_request"]

API = "/api2/json"
FORM = "application/x-www-form-urlencoded"
# Characters a path keeps as they are: paths.py escaped each segment once, and an escape ('%2F') must stay one.
PATH_SAFE = "/%:@!$&'()*+,;=~"


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One request as PVE receives it: method, target (path and query, escaped), and a form body with its type."""

    method: str
    target: str
    body: bytes = b""
    content_type: str | None = None


class Reply(NamedTuple):
    """PVE's answer: status code, reason phrase (PVE puts its message there) and body."""

    status: int
    reason: str
    body: bytes


# Answers requests in place of the network; only tests give one (the operation tests' in-memory PVE).
Responder = Callable[[WireRequest], Awaitable[Reply]]


def form_value(value: Any) -> Any:
    """A value as PVE's form decoder takes it."""
    # PVE's form decoder takes booleans only as 1/0 ('true' is a 400); lists become repeated keys.
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return [form_value(item) for item in value]
    return str(value)


def encode_form(params: Mapping[str, Any] | None) -> str:
    """Params urlencoded as PVE decodes them: booleans as 1/0, lists as repeated keys, '+' as %2B, None left out."""
    clean = {k: form_value(v) for k, v in (params or {}).items() if v is not None}
    return urlencode(clean, doseq=True)


def wire_request(method: str, path: str, params: Mapping[str, Any] | None) -> WireRequest:
    """The request for a path below /api2/json: params in the query for GET and DELETE, as a form otherwise."""
    target = API + quote(path, safe=PATH_SAFE)
    form = encode_form(params)
    if not form:
        return WireRequest(method, target)
    if method in ("GET", "DELETE", "HEAD"):
        return WireRequest(method, f"{target}?{form}")
    return WireRequest(method, target, form.encode(), FORM)
