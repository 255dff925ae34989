"""Domain errors that services raise; app/web/errors.py maps them to responses."""

from __future__ import annotations

# Routes map Proxmox's refusals too; they take them from here, never from the client's package.
from app.proxmox.errors import PveAuthError as PveAuthError
from app.proxmox.errors import PveError as PveError
from app.proxmox.errors import PveForbidden as PveForbidden
from app.proxmox.errors import PveRejected as PveRejected
from app.proxmox.errors import PveUnavailable as PveUnavailable


class ServiceError(Exception):
    """Base of the errors a user can be shown; `errors` holds one message per field when several are wrong."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field or next(iter(errors or {}), None) or None
        self.errors: dict[str, str] = dict(errors or {})
        # More for the JSON answer, e.g. the status of a request that can no longer be decided.
        self.extra = extra or {}


class NotFound(ServiceError):
    """The thing asked for does not exist."""

    status = 404


class Conflict(ServiceError):
    """The request clashes with the current state (a name already taken)."""

    status = 409


class Forbidden(ServiceError):
    """The user's role does not allow this."""

    status = 403


class Invalid(ServiceError):
    """Bad input; `field` names the parameter when there is one, `errors` every parameter that is wrong."""

    status = 422


class Unauthenticated(ServiceError):
    """No valid sign-in or token."""

    status = 401


class TooManyAttempts(ServiceError):
    """Sign-in is throttled for this account or address."""

    status = 429


class UpstreamRefused(ServiceError):
    """Proxmox refused the change; the message is Proxmox's own."""

    status = 502


# Every answer about an audit log that refuses writes starts with these words.
AUDIT_UNWRITABLE = "The audit log cannot be written right now"
NOTHING_DONE = (
    "so nothing was done and nothing was sent to Proxmox. Try again once the database takes writes again."
)


class AuditUnavailable(ServiceError):
    """The database refused to record a step. Without `execution_id` nothing was done; with it, Proxmox was
    called and the reconciler completes the record (`after_call` says what Proxmox did, `upid` its task)."""

    status = 503

    def __init__(
        self,
        after_call: str | None = None,
        execution_id: int | None = None,
        description: str = "",
        upid: str | None = None,
    ) -> None:
        message = (
            f"{AUDIT_UNWRITABLE}: {after_call}." if after_call else f"{AUDIT_UNWRITABLE}, {NOTHING_DONE}"
        )
        super().__init__(message, extra={"upid": upid} if upid else None)
        self.execution_id = execution_id
        self.description = description


class OutcomeUnknown(ServiceError):
    """The change was sent but no answer came; whether it happened is unknown (execution_id says which call)."""

    status = 504

    def __init__(self, message: str, execution_id: int | None = None, description: str = "") -> None:
        super().__init__(message)
        self.execution_id = execution_id
        self.description = description
