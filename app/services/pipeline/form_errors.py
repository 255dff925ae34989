"""Every problem of a form's input, by field, in plain words: for forms that show them beside each field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from app.operations.base import Operation
from app.operations.messages import plain_errors
from app.services.errors import Invalid, ServiceError


def params_errors(op: Operation, raw: Mapping[str, Any]) -> dict[str, str]:
    """field -> what is wrong with it, for every field of the operation's parameters ({} when all are fine)."""
    try:
        op.params.model_validate(dict(raw))
    except ValidationError as exc:
        return plain_errors(exc)
    return {}


def field_errors(op: Operation, raw: Mapping[str, Any], exc: ServiceError) -> dict[str, str]:
    """The problems a form can show beside its fields: all of them for bad input, or the one a check named
    (a taken VMID, a storage that does not fit); {} when the refusal is about no field (then it is a toast)."""
    if exc.errors:
        return exc.errors
    if isinstance(exc, Invalid):
        return params_errors(op, raw) or ({exc.field: exc.message} if exc.field else {})
    return {exc.field: exc.message} if exc.field and exc.status < 500 else {}
