"""The audit log: append events to the keyed chain, checkpoint it outside the database, query and verify it."""

from app.services.audit import binding, cli
from app.services.audit.chain import canonical_time
from app.services.audit.checkpoint import keep_checkpoints, stop_checkpoints, verify_against_checkpoints
from app.services.audit.log import (
    WRITE_REFUSED,
    Actor,
    AuditEvent,
    Draft,
    Target,
    append,
    append_in,
    checkpoint_now,
    record_account_change,
    recording,
    redact,
    refusal,
)
from app.services.audit.query import (
    OBSERVED,
    OUTCOMES,
    AuditFilter,
    AuditQuery,
    count_events,
    csv_header,
    csv_line,
    event_dict,
    iter_events,
    jsonl_line,
    list_events,
)
from app.services.audit.seals import SEAL, sealed_digest
from app.services.audit.sessions import command_sessions
from app.services.audit.signed import Checkpoint

__all__ = [
    "OBSERVED",
    "OUTCOMES",
    "SEAL",
    "WRITE_REFUSED",
    "Actor",
    "AuditEvent",
    "AuditFilter",
    "AuditQuery",
    "Checkpoint",
    "Draft",
    "Target",
    "append",
    "append_in",
    "binding",
    "canonical_time",
    "checkpoint_now",
    "cli",
    "command_sessions",
    "count_events",
    "csv_header",
    "csv_line",
    "event_dict",
    "iter_events",
    "jsonl_line",
    "keep_checkpoints",
    "list_events",
    "record_account_change",
    "recording",
    "redact",
    "sealed_digest",
    "refusal",
    "stop_checkpoints",
    "verify_against_checkpoints",
]
