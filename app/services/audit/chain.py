"""The audit chain's cryptography: the key derived from PROXGATE_SECRET_KEY, its segments, and each event's seal.

Every event's hash is HMAC-SHA256, under the audit key, of the previous event's hash and the event's canonical
JSON. The key is never stored in the database: it is derived from the secret key when an engine is configured
(`binding.configure()`), and only a fingerprint of it (the key id) is kept with each event, so verification knows which
key sealed which events. A run of events sealed by one key is a segment. When the key changes, the first append
writes a rotation event (operation "audit-key") under the new key that names the previous segment; events from
before the chain was keyed keep an empty key id and form a legacy segment hashed with plain sha256.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson

GENESIS = "0" * 64
LEGACY = ""  # the key id of events hashed before the chain was keyed
ROTATION = "audit-key"  # the operation of the event that opens a new key segment
LEGACY_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "auth_method",
    "source_ip",
    "user_agent",
    "request_id",
    "operation",
    "risk",
    "node",
    "guest_type",
    "vmid",
    "target_name",
    "params",
    "outcome",
    "upid",
    "message",
    "approval_id",
    "prev_hash",
)
HASHED_FIELDS = (*LEGACY_FIELDS, "token_name", "key_id")
# Sealed only when set, so every event written before it existed keeps its seal: the batch an event belongs to.
OPTIONAL_FIELD = "batch_id"
SORTED_FIELDS = tuple(sorted(HASHED_FIELDS))
_DERIVE_LABEL = b"proxgate audit chain v1"
_ID_LABEL = b"proxgate audit key id"


class AuditKeyMissing(RuntimeError):
    """An engine was used for the audit chain before configure() gave it a key."""


def derive_key(secret: str) -> bytes:
    """The audit sub-key of a secret key (HMAC with a label, so the secret itself signs nothing here)."""
    return hmac.digest(secret.encode(), _DERIVE_LABEL, "sha256")


def key_id(key: bytes) -> str:
    """A public fingerprint of a key: 16 hex digits that name it and reveal nothing of it."""
    return hmac.digest(key, _ID_LABEL, "sha256").hex()[:16]


def segment_name(kid: str) -> str:
    """How messages name a segment."""
    return "legacy (unkeyed sha256)" if kid == LEGACY else f"key {kid}"


@dataclass(frozen=True)
class Keyring:
    """The key that seals new events, and every key verification may use (by id)."""

    current: bytes
    current_id: str
    known: Mapping[str, bytes]

    @classmethod
    def from_secrets(cls, secret: str, old_secrets: Iterable[str] = ()) -> Keyring:
        """The current secret's key, and older secrets' keys for verifying earlier segments."""
        current = derive_key(secret)
        known = {key_id(k): k for k in map(derive_key, old_secrets)}
        known[key_id(current)] = current
        return cls(current, key_id(current), known)


def canonical_time(moment: datetime | str) -> str:
    """UTC ISO-8601 with microseconds; SQLite hands back naive datetimes, which are UTC (a str is one already)."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        return moment.isoformat(timespec="microseconds") + "+00:00"
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


# The fields in sorted order, read with one itemgetter: canonical() runs once per event when appending.
_SORTED = {LEGACY_FIELDS: tuple(sorted(LEGACY_FIELDS)), HASHED_FIELDS: SORTED_FIELDS}
_GETTERS: dict[tuple[str, ...], Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {
    fields: itemgetter(*names) for fields, names in _SORTED.items()
}


def canonical(values: Mapping[str, Any], fields: tuple[str, ...] = HASHED_FIELDS) -> bytes:
    """The event's hashed fields as compact, key-sorted UTF-8 JSON.

    orjson writes exactly what json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes for
    the strings, integers and nulls an event holds (tests/services/test_audit_chain.py checks every code point),
    several times faster; verification walks a million events.
    """
    hashed = dict(zip(_SORTED[fields], _GETTERS[fields](values), strict=True))
    hashed["at"] = canonical_time(values["at"])
    if fields is HASHED_FIELDS and values.get(OPTIONAL_FIELD) is not None:
        hashed[OPTIONAL_FIELD] = values[OPTIONAL_FIELD]
        return orjson.dumps(hashed, option=orjson.OPT_SORT_KEYS)
    return orjson.dumps(hashed)


def seal(key: bytes | None, prev_hash: str, values: Mapping[str, Any]) -> str:
    """The event's hash: HMAC-SHA256 under its key, or plain sha256 for a legacy event."""
    legacy = values["key_id"] == LEGACY
    return seal_body(key, prev_hash, canonical(values, LEGACY_FIELDS if legacy else HASHED_FIELDS), legacy)


def seal_body(key: bytes | None, prev_hash: str, body: bytes, legacy: bool = False) -> str:
    """The hash of an event whose canonical form is `body`."""
    if legacy:
        return hashlib.sha256(prev_hash.encode() + body).hexdigest()
    if key is None:
        raise AuditKeyMissing("no key for this segment")
    return hmac.digest(key, prev_hash.encode() + body, "sha256").hex()
