"""Domain errors that services raise; app/web/errors.py maps them to responses."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors a user can be shown."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


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
    """Bad input; `field` names the parameter when there is one."""

    status = 422


class Unauthenticated(ServiceError):
    """No valid sign-in or token."""

    status = 401


class TooManyAttempts(ServiceError):
    """Sign-in is throttled for this account or address."""

    status = 429
