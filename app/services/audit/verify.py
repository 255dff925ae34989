"""Verify the audit chain: sequence, links, every seal under its segment's key, and the tail against a checkpoint.

What a failure is called: "missing" (a gap in the sequence), "relinked" (an event that does not link to the one
before), "altered" (an event changed after it was written, its key id too), "recomputed" (events rewritten and
their hashes recomputed without the key, also in the old unkeyed format: unkeyed events may only come first),
"truncated" (the newest events deleted), "wiped" (the table emptied), "inserted" (a row beyond the head);
checkpoint.py adds "checkpoint" (a checkpoint whose signature fails).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.audit import AuditEvent, AuditHead
from app.services.audit.binding import config_of
from app.services.audit.chain import (
    GENESIS,
    LEGACY,
    LEGACY_FIELDS,
    OPTIONAL_FIELD,
    ROTATION,
    SORTED_FIELDS,
    Keyring,
    canonical,
    canonical_time,
    seal_body,
    segment_name,
)
from app.services.audit.findings import Segment, Verification
from app.services.audit.signed import Checkpoint

__all__ = ["VERIFY_COLUMNS", "Head", "Segment", "Verification", "read_head", "verify_chain"]

VERIFY_COLUMNS = (*SORTED_FIELDS, OPTIONAL_FIELD, "hash")


async def _batches(
    db: AsyncSession, after: int, until: int, size: int = 10000
) -> AsyncIterator[list[dict[str, Any]]]:
    """The events after `after` up to `until`, in order, each with its canonical form under "body".

    Core rows on the session's connection, and the canonical form made from the row directly: the walk over a
    million events spends its time here, and the ORM's loading or a second dict per event would add a fifth.
    """
    columns = [getattr(AuditEvent, name) for name in VERIFY_COLUMNS]
    conn = await db.connection()
    last = after
    while True:
        query = (
            select(*columns)
            .where(AuditEvent.seq > last, AuditEvent.seq <= until)
            .order_by(col(AuditEvent.seq))
            .limit(size)
        )
        rows = [_event(row) for row in (await conn.execute(query)).all()]
        if not rows:
            return
        yield rows
        last = rows[-1]["seq"]


def _event(row: Sequence[Any]) -> dict[str, Any]:
    """A stored event: its hashed fields (time in canonical form), its canonical JSON, and its hash."""
    event = dict(zip(SORTED_FIELDS, row, strict=False))
    event["at"] = canonical_time(event["at"])
    legacy = event["key_id"] == LEGACY
    if legacy:
        body = canonical(event, LEGACY_FIELDS)
    elif row[-2] is not None:  # sealed with the optional field only when it is set
        event[OPTIONAL_FIELD] = row[-2]
        body = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    else:
        body = orjson.dumps(event)
    event["hash"], event["body"] = row[-1], body
    return event


class _Walk:
    """The state of one pass over the events, in order."""

    def __init__(self, keyring: Keyring, result: Verification, start: tuple[int, str, str | None]) -> None:
        self.keyring, self.result = keyring, result
        self.last_seq, self.prev_hash, self.prev_key = start
        self.suspect: Mapping[str, Any] | None = None
        self.at_anchor: tuple[str, str] | None = None

    def step(self, event: Mapping[str, Any]) -> bool:
        """Check one event; False once the walk should stop."""
        if self.suspect is not None:
            self.classify(event)
            return False
        if not (self._linked(event) and self._segment(event)):
            return False
        sealed = self._seal_holds(event)
        if sealed is False:
            self.suspect = event
        self.result.checked += sealed is True
        self.last_seq, self.prev_hash, self.prev_key = event["seq"], event["hash"], event["key_id"]
        anchor = self.result.anchor
        if anchor is not None and event["seq"] == anchor.seq:
            self.at_anchor = (event["hash"], event["key_id"])
        return True

    def _linked(self, event: Mapping[str, Any]) -> bool:
        seq, expected = event["seq"], self.last_seq + 1
        if seq != expected:
            self.result.fail("missing", expected, f"event #{expected} is missing (the next one is #{seq})")
        elif event["prev_hash"] != self.prev_hash:
            self.result.fail("relinked", seq, f"event #{seq} does not link to the event before it")
        return self.result.ok

    def _segment(self, event: Mapping[str, Any]) -> bool:
        kid, seq = event["key_id"], event["seq"]
        segments = self.result.segments
        if kid == self.prev_key and segments:
            segments[-1].last = seq
            return True
        # A walk from a checkpoint starts inside its head's segment: only a different key is a change.
        if kid != self.prev_key and self.prev_key is not None:
            self._key_change(event)
        if self.result.ok:
            segments.append(Segment(kid, seq, seq, kid == LEGACY or kid in self.keyring.known))
        return self.result.ok

    def _key_change(self, event: Mapping[str, Any]) -> None:
        """A new segment is opened by a rotation record naming the one before; unkeyed events only come first."""
        kid, seq, prev = event["key_id"], event["seq"], str(self.prev_key)
        known = self.keyring.known
        if kid == LEGACY:
            self.result.fail(
                "recomputed",
                seq,
                f"event #{seq} is unkeyed (plain sha256) but keyed events come before it: unkeyed events may "
                "only come first, from before the chain was keyed, so it was written without the key",
            )
        elif _opens(event, prev):
            return
        elif kid not in known:
            # Its seal cannot be checked, but every key the app ever used was opened by a rotation record.
            reason = f"event #{seq} names key {kid}, which no rotation record opens: its key id was altered"
            self.result.fail("altered", seq, reason)
        elif prev != LEGACY and prev not in known and self._seal_holds(event):
            # This event is genuine, and the app writes a rotation record whenever the key changes: so the
            # event before it did not carry this other key when it was written.
            self.result.fail(
                "altered",
                self.last_seq,
                f"event #{self.last_seq} names key {prev}, but event #{seq}, sealed with key {kid}, follows it "
                "without a rotation record: its key id was altered",
            )
        else:
            self.result.fail("altered", seq, f"event #{seq} changes the key without a rotation record")

    def _seal_holds(self, event: Mapping[str, Any]) -> bool | None:
        kid = event["key_id"]
        if kid != LEGACY and kid not in self.keyring.known:
            return None
        return (
            seal_body(self.keyring.known.get(kid), event["prev_hash"], event["body"], kid == LEGACY)
            == event["hash"]
        )

    def classify(self, following: Mapping[str, Any] | None) -> None:
        """An event's seal failed: if the next one links to it and fails too, the chain was recomputed."""
        bad = self.suspect
        assert bad is not None  # noqa: S101 (only called with a suspect)
        seq, anchor = bad["seq"], self.result.anchor
        if following is not None:
            rewritten = following["prev_hash"] == bad["hash"] and self._seal_holds(following) is False
        else:
            rewritten = anchor is not None and anchor.seq == seq and anchor.hash != bad["hash"]
        if rewritten:
            self.result.fail(
                "recomputed",
                seq,
                f"events from #{seq} on were rewritten and their hashes recomputed without the audit key",
            )
        else:
            self.result.fail("altered", seq, f"event #{seq} was altered after it was written")


def _opens(event: Mapping[str, Any], previous: str) -> bool:
    """True when the event is a rotation record naming the segment before it."""
    if event["operation"] != ROTATION:
        return False
    params = json.loads(event["params"] or "{}")
    return params.get("previous_segment") == (previous or "legacy")


async def verify_chain(
    db: AsyncSession, anchor: Checkpoint | None = None, since: Checkpoint | None = None
) -> Verification:
    """Walk the chain (all of it, or the events after the checkpoint `since`) and compare it with `anchor`.

    The head is read first and the walk stops there: events appended meanwhile are not half-seen as damage.
    """
    keyring = config_of(db).keyring
    result = Verification(anchor=anchor, current_key=keyring.current_id)
    head = await read_head(db)
    start = (since.seq, since.hash, since.head_key) if since and since.seq else (0, GENESIS, None)
    walk = _Walk(keyring, result, start)
    if since is not None:
        walk.at_anchor = await _event_at(db, since.seq)
    if since is not None and walk.at_anchor is None:
        # The checkpointed event itself is gone: only how far the log still reaches matters now.
        walk.last_seq = await _last_seq(db)
    else:
        async for rows in _batches(db, walk.last_seq, head.seq):
            if not all(walk.step(event) for event in rows):
                return result
        if walk.suspect is not None:
            walk.classify(None)
            return result
    _compare_anchor(walk, head)
    _compare_head(walk, head)
    if result.ok:
        await _check_beyond_head(db, result, head.seq)
    return result


async def _check_beyond_head(db: AsyncSession, result: Verification, head_seq: int) -> None:
    """Rows past the head that the head has not caught up with since were not appended by Proxgate."""
    beyond = await _last_seq(db)
    if beyond > head_seq and beyond > (await read_head(db)).seq:
        result.fail(
            "inserted", beyond, f"event #{beyond} lies beyond the chain head: Proxgate did not write it"
        )


class Head(NamedTuple):
    """The chain head row as it is now."""

    seq: int
    hash: str
    key_id: str


async def read_head(db: AsyncSession) -> Head:
    """The head, read afresh (columns, not the ORM object a session would keep and not refresh)."""
    query = select(AuditHead.seq, AuditHead.hash, AuditHead.key_id).where(AuditHead.id == 1)
    return Head(*(await db.exec(query)).one())


async def _last_seq(db: AsyncSession) -> int:
    return int((await db.exec(select(func.coalesce(func.max(AuditEvent.seq), 0)))).one())


async def _event_at(db: AsyncSession, seq: int) -> tuple[str, str] | None:
    if seq == 0:
        return GENESIS, ""
    query = select(AuditEvent.hash, AuditEvent.key_id).where(AuditEvent.seq == seq)
    row = (await db.exec(query)).first()
    return (row[0], row[1]) if row else None


def _compare_anchor(walk: _Walk, head: Head) -> None:
    result, anchor = walk.result, walk.result.anchor
    if anchor is None or anchor.seq == 0 or not result.ok:
        return
    recorded = f"the checkpoint of {anchor.when} recorded #{anchor.seq}"
    if walk.last_seq == 0 and walk.at_anchor is None:
        result.fail("wiped", 1, f"the audit log is empty, but {recorded}: the table was emptied")
    elif walk.last_seq < anchor.seq:
        rewound = "; its head was rewound to match" if head.seq == walk.last_seq else ""
        result.fail(
            "truncated",
            walk.last_seq + 1,
            f"the newest events are gone: the log ends at #{walk.last_seq}, but {recorded}{rewound}",
        )
    elif walk.at_anchor != (anchor.hash, anchor.head_key):
        result.fail(*_replaced(walk, anchor.seq, f"event #{anchor.seq} is not the one {recorded}"))


def _replaced(walk: _Walk, seq: int, what: str) -> tuple[str, int, str]:
    """What stands where the checkpointed event was: the app's own events (so the end was cut), or a rewrite."""
    if walk.at_anchor is not None and walk.at_anchor[1] == LEGACY:
        # The app never writes an unkeyed event: plain sha256 is what anyone without the key can compute.
        how = (
            "the events up to it were rewritten in the old unkeyed format (plain sha256), which needs no key"
        )
        return "recomputed", seq, f"{what}: {how}"
    if all(s.sealed for s in walk.result.segments):
        # Every seal holds under a key, so the app itself wrote what now stands where the recorded ones were.
        return "truncated", seq, f"{what}: events were deleted from the end and others written after them"
    return "recomputed", seq, f"{what}: the chain was rewritten up to it"


def _compare_head(walk: _Walk, head: Head) -> None:
    result = walk.result
    if not result.ok:
        return
    if head.seq == walk.last_seq and head.hash == walk.prev_hash:
        _compare_head_key(walk, head)
    elif walk.last_seq == 0:
        result.fail("wiped", 1, f"the audit log is empty, but its head says {head.seq} events were written")
    else:
        result.fail(
            "truncated",
            walk.last_seq + 1,
            f"events after #{walk.last_seq} are missing (the chain head is at #{head.seq})",
        )


def _compare_head_key(walk: _Walk, head: Head) -> None:
    """The head took the newest event's key id when the event was inserted (a trigger copies it)."""
    last = walk.prev_key or LEGACY
    if walk.last_seq == 0 or head.key_id == last:
        return
    seq, named = walk.last_seq, segment_name(head.key_id)
    if last == LEGACY:
        reason = (
            f"the chain head says event #{seq} is sealed with {named}, but it is unkeyed: the events were "
        )
        walk.result.fail("recomputed", seq, reason + "rewritten without the key")
    else:
        reason = f"the chain head says event #{seq} is sealed with {named}, but it names key {last}"
        walk.result.fail("altered", seq, reason + ": its key id was altered")
