"""The audit log: append events to the keyed chain, checkpoint it outside the database, query and verify it."""

from app.services.audit.log import (
    Actor,
    AuditEvent,
    Draft,
    Target,
    append,
    append_in,
    checkpoint_now,
    record_account_change,
    redact,
)

__all__ = [
    "Actor",
    "AuditEvent",
    "Draft",
    "Target",
    "append",
    "append_in",
    "checkpoint_now",
    "record_account_change",
    "redact",
]
