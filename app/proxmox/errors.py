"""The errors the Proxmox VE client raises.

    PveError                    anything PVE, or the way to it, refused
    ├── PveUnavailable          PVE or one of its nodes cannot be reached: connect error, timeout,
    │   │                       502-504 from a proxy, 595/596 for a node the API host cannot reach
    │   └── PveTlsError         the certificate is not trusted, or is not the pinned one
    ├── PveAuthError            401: the API token id or secret was refused
    ├── PveForbidden            403: the token lacks a privilege on a path ('Permission check failed (...)')
    ├── PveNotFound             a guest, node or task does not exist; 501 not implemented
    ├── PveRejected             400: parameter verification failed; `errors` holds the message per field
    └── PveTaskFailed           a task ended with an exit status other than OK or WARNINGS

Every error keeps PVE's own message (trailing newline stripped), the HTTP status, the per-field errors,
and the method and path of the request. str() is one line a user can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypedDict, Unpack

from app.proxmox.upid import try_parse_upid

__all__ = [
    "PveAuthError",
    "PveError",
    "PveForbidden",
    "PveNotFound",
    "PveRejected",
    "PveTaskFailed",
    "PveTlsError",
    "PveUnavailable",
    "one_line",
]


class ErrorContext(TypedDict, total=False):
    """The request details every error carries."""

    status: int | None
    errors: Mapping[str, str] | None
    method: str
    path: str


# PVE's texts that say less than a user needs, and what they mean.
EXPLANATIONS = (
    (
        re.compile(r"no quorum", re.IGNORECASE),
        "The cluster has lost quorum, so Proxmox makes no changes until enough nodes are back",
    ),
)


def one_line(text: str) -> str:
    """The text with its line breaks and runs of white space folded into single spaces."""
    return " ".join(text.split())


class PveError(Exception):
    """An error from Proxmox VE, or on the way to it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: Mapping[str, str] | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.message = message.rstrip("\n")
        self.status = status
        self.errors: dict[str, str] = {k: str(v).rstrip("\n") for k, v in (errors or {}).items()}
        self.method = method
        self.path = path
        super().__init__(self.message)

    @property
    def request(self) -> str:
        """'METHOD /path' of the failed request, or '' when unknown."""
        return f"{self.method} {self.path}".strip()

    def __str__(self) -> str:
        text = one_line(self.message) or "Proxmox VE reported an error"
        where = f"HTTP {self.status} from {self.request}" if self.status is not None and self.request else ""
        meaning = next((plain for pattern, plain in EXPLANATIONS if pattern.search(text)), None)
        if meaning:
            return f"{meaning} (PVE: {text}{', ' + where if where else ''})"
        return f"{text} ({where})" if where else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r}, path={self.path!r})"


class PveUnavailable(PveError):
    """PVE, or the node a request was proxied to, cannot be reached."""

    # True when a change was sent but no answer came: Proxmox may or may not have applied it.
    maybe_applied = False

    def __init__(
        self, message: str, *, host: str = "", node: str | None = None, **context: Unpack[ErrorContext]
    ) -> None:
        super().__init__(message, **context)
        self.host = host
        self.node = node

    def __str__(self) -> str:
        text = one_line(self.message)
        if self.node:
            return f"Node {self.node} cannot be reached from the Proxmox VE API ({text}); it may be offline"
        where = f" at {self.host}" if self.host else ""
        return f"Cannot reach Proxmox VE{where}: {text}"


class PveTlsError(PveUnavailable):
    """The server's certificate is not trusted, or does not match the pinned fingerprint."""

    def __init__(
        self,
        message: str,
        *,
        expected: str | None = None,
        presented: str | None = None,
        host: str = "",
        **context: Unpack[ErrorContext],
    ) -> None:
        super().__init__(message, host=host, **context)
        self.expected = expected
        self.presented = presented

    def __str__(self) -> str:
        return one_line(self.message)


class PveAuthError(PveError):
    """401: PVE refused the API token."""

    def __init__(self, message: str, *, token_id: str = "", **context: Unpack[ErrorContext]) -> None:
        super().__init__(message, **context)
        self.token_id = token_id

    def __str__(self) -> str:
        token = f" {self.token_id}" if self.token_id else ""
        return (
            f"Proxmox VE refused the API token{token}: the token id or secret is wrong, or the token was "
            f"deleted or has expired (PVE: {one_line(self.message) or 'authentication failure'})"
        )


# 'Permission check failed (/vms/100, VM.PowerMgmt)'; check_any joins alternatives with '|'.
PERMISSION_RE = re.compile(r"Permission check failed \((?P<path>[^,()]*), (?P<privilege>[^()]+)\)")


class PveForbidden(PveError):
    """403: the token (or its user) lacks a privilege on a path."""

    def __init__(self, message: str, *, token_id: str = "", **context: Unpack[ErrorContext]) -> None:
        super().__init__(message, **context)
        self.token_id = token_id
        found = PERMISSION_RE.search(self.message)
        self.acl_path: str | None = found.group("path").strip() if found else None
        self.privilege: str | None = found.group("privilege").strip() if found else None

    @property
    def privileges(self) -> list[str]:
        """The privileges PVE named; any one of them would have done when there are several."""
        return [p for p in (self.privilege or "").split("|") if p]

    def __str__(self) -> str:
        who = f"The API token {self.token_id}" if self.token_id else "The API token"
        privs = self.privileges
        if not privs:
            return f"{who} may not do {self.request or 'this'}: {one_line(self.message)}"
        need = privs[0] if len(privs) == 1 else "one of " + ", ".join(privs)
        where = self.acl_path or "/"
        return (
            f"{who} lacks the privilege {need} on {where}; grant it (to the user and, with privilege "
            f"separation, to the token) in Datacenter > Permissions"
        )


class PveNotFound(PveError):
    """A guest, node, task or API method that does not exist."""


class PveRejected(PveError):
    """400: PVE refused the parameters; `errors` maps each parameter to PVE's message."""

    def __str__(self) -> str:
        if not self.errors:
            return super().__str__()
        fields = "; ".join(f"{key}: {one_line(text)}" for key, text in sorted(self.errors.items()))
        return f"{one_line(self.message).rstrip('.')}: {fields}"


class PveTaskFailed(PveError):
    """A PVE task that ended with an error exit status."""

    def __init__(
        self, upid: str, exitstatus: str, *, node: str = "", **context: Unpack[ErrorContext]
    ) -> None:
        super().__init__(exitstatus, **context)
        self.upid = upid
        self.exitstatus = exitstatus.rstrip("\n")
        self.node = node

    def __str__(self) -> str:
        parsed = try_parse_upid(self.upid)
        if parsed is None:
            return f"Task {self.upid} failed: {one_line(self.exitstatus)}"
        target = f" {parsed.id}" if parsed.id else ""
        return f"Task {parsed.type}{target} on {parsed.node} failed: {one_line(self.exitstatus)}"
