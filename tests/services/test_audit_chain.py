"""The keyed chain against someone who can write the database but has neither the key nor the checkpoints."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from app.db.audit import AuditEvent
from app.services import audit
from app.services.audit.chain import (
    GENESIS,
    HASHED_FIELDS,
    LEGACY,
    LEGACY_FIELDS,
    canonical,
    derive_key,
    key_id,
    seal,
)
from app.services.audit.checkpoint import checkpoint_files, checkpoint_now, verify_against_checkpoints
from app.services.audit.verify import VERIFY_COLUMNS, verify_chain
from tests.services.conftest import CHAIN_SECRET, Chain

ACTOR = audit.Actor(1, "alice", "session", "192.0.2.10", "pytest", "req-1")
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
OLD_EVENT = {
    "at": datetime(2026, 1, 1, tzinfo=UTC),
    "actor_name": "old",
    "auth_method": "session",
    "source_ip": "",
    "user_agent": "",
    "request_id": "",
    "operation": "start",
    "risk": "reversible",
    "params": "{}",
    "outcome": "intent",
}


def draft(vmid: int) -> audit.Draft:
    """An event about one guest."""
    return audit.Draft("start", "reversible", "intent", audit.Target("pve1", "qemu", vmid, f"vm{vmid}"))


async def append_many(chain: Chain, count: int) -> None:
    """Write `count` events."""
    for i in range(count):
        await audit.append(chain.sessions, ACTOR, draft(100 + i))


async def rows(chain: Chain) -> list[dict[str, Any]]:
    """Every stored event, as the database holds it."""
    columns = [EVENTS.c[name] for name in VERIFY_COLUMNS]
    async with chain.engine.connect() as conn:
        result = await conn.execute(select(*columns).order_by(EVENTS.c.seq))
        return [dict(row._mapping) for row in result]


async def rewrite(chain: Chain, events: list[dict[str, Any]]) -> None:
    """Store these events over the old ones and point the head at the last, as an attacker would."""
    async with chain.engine.begin() as conn:
        for event in events:
            await conn.execute(
                text(
                    "UPDATE audit_events SET target_name = :target_name, prev_hash = :prev_hash, hash = :hash WHERE seq = :seq"
                ),
                event,
            )
        last = events[-1]
        await conn.execute(text("UPDATE audit_head SET hash = :hash WHERE id = 1"), last)


async def test_events_are_sealed_with_a_key_the_database_never_sees(chain: Chain) -> None:
    await append_many(chain, 2)
    first, second = await rows(chain)
    key = derive_key(CHAIN_SECRET)
    assert first["key_id"] == key_id(key) and len(first["key_id"]) == 16
    expected = hmac.new(key, GENESIS.encode() + canonical(first), hashlib.sha256).hexdigest()
    assert first["hash"] == expected and second["prev_hash"] == first["hash"]
    plain = hashlib.sha256(GENESIS.encode() + canonical(first)).hexdigest()
    assert first["hash"] != plain
    dumped = repr(await rows(chain))
    assert key.hex() not in dumped and CHAIN_SECRET not in dumped


async def test_a_chain_recomputed_without_the_key_is_named(chain: Chain) -> None:
    await append_many(chain, 5)
    events = await rows(chain)
    events[2]["target_name"] = "innocent"
    prev = events[1]["hash"]
    for event in events[2:]:
        # Everything the attacker can do: recompute each hash (a guessed key) and relink the next event.
        event["prev_hash"] = prev
        event["hash"] = prev = seal(b"a guess at the key", event["prev_hash"], event)
    await rewrite(chain, events[2:])
    result = await verify_against_checkpoints(chain.sessions)
    assert (result.kind, result.broken_seq) == ("recomputed", 3)
    assert result.summary() == (
        "audit chain BROKEN (recomputed) at event #3: events from #3 on were rewritten and their hashes "
        "recomputed without the audit key"
    )


async def test_a_cut_tail_with_a_rewound_head_is_named_against_the_checkpoint(chain: Chain) -> None:
    await append_many(chain, 5)
    checkpoint = await checkpoint_now(chain.sessions)
    assert checkpoint is not None and checkpoint.seq == 5
    events = await rows(chain)
    async with chain.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq > 3"))
        await conn.execute(text("UPDATE audit_head SET seq = 3, hash = :hash WHERE id = 1"), events[2])
    result = await verify_against_checkpoints(chain.sessions)
    assert (result.kind, result.broken_seq) == ("truncated", 4)
    assert "the log ends at #3, but the checkpoint of " in (result.reason or "")
    assert "recorded #5; its head was rewound to match" in (result.reason or "")


async def test_an_emptied_table_is_named(chain: Chain) -> None:
    await append_many(chain, 3)
    await checkpoint_now(chain.sessions)
    async with chain.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events"))
        await conn.execute(
            text("UPDATE audit_head SET seq = 0, hash = :h, key_id = '' WHERE id = 1"), {"h": GENESIS}
        )
    result = await verify_against_checkpoints(chain.sessions)
    assert result.kind == "wiped"
    assert result.reason is not None and result.reason.startswith(
        "the audit log is empty, but the checkpoint of"
    )


async def test_a_damaged_chain_gets_no_new_checkpoint(chain: Chain) -> None:
    await append_many(chain, 4)
    assert await checkpoint_now(chain.sessions) is not None
    files = checkpoint_files(chain.checkpoints)
    before = files[0].read_text()
    third = (await rows(chain))[2]
    async with chain.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
        await conn.execute(text("UPDATE audit_head SET seq = 3, hash = :hash WHERE id = 1"), third)
    assert await checkpoint_now(chain.sessions) is None
    assert files[0].read_text() == before
    # More events later do not launder it either: the checkpointed #4 is not the one the log now has.
    await append_many(chain, 2)
    assert await checkpoint_now(chain.sessions) is None
    result = await verify_against_checkpoints(chain.sessions)
    assert (result.kind, result.broken_seq) == ("truncated", 4)
    assert "events were deleted from the end and others written after them" in (result.reason or "")


async def test_a_forged_checkpoint_is_refused(chain: Chain) -> None:
    await append_many(chain, 2)
    await checkpoint_now(chain.sessions)
    path = checkpoint_files(chain.checkpoints)[0]
    path.write_text(path.read_text().replace('"seq":2', '"seq":1'))
    result = await verify_against_checkpoints(chain.sessions)
    assert result.kind == "checkpoint" and "edited or forged" in (result.reason or "")


async def test_a_new_key_starts_a_linked_segment(chain: Chain) -> None:
    await append_many(chain, 3)
    old_id = key_id(derive_key(CHAIN_SECRET))
    chain.rekey("the new secret key after a rotation")
    await append_many(chain, 2)
    events = await rows(chain)
    rotation = events[3]
    assert rotation["operation"] == "audit-key" and rotation["actor_name"] == "proxgate"
    assert f'"previous_segment":"{old_id}"' in rotation["params"]
    assert [e["key_id"] == old_id for e in events] == [True, True, True, False, False, False]
    await checkpoint_now(chain.sessions)
    without_old = await verify_against_checkpoints(chain.sessions)
    assert without_old.ok and not without_old.proven
    assert without_old.checked == 3
    assert f"events #1–#3: key {old_id}: NOT verified" in "\n".join(without_old.details())
    chain.rekey("the new secret key after a rotation", CHAIN_SECRET)
    with_old = await verify_against_checkpoints(chain.sessions)
    assert with_old.proven and with_old.checked == 6
    assert [s.first for s in with_old.segments] == [1, 4]


async def test_events_from_before_the_key_form_a_legacy_segment(chain: Chain) -> None:
    prev = GENESIS
    async with chain.engine.begin() as conn:
        for seq in (1, 2):  # written as the unkeyed chain did before migration 0005
            values = {
                **dict.fromkeys(LEGACY_FIELDS),
                **OLD_EVENT,
                "seq": seq,
                "prev_hash": prev,
                "key_id": LEGACY,
            }
            values["hash"] = prev = hashlib.sha256(
                prev.encode() + canonical(values, LEGACY_FIELDS)
            ).hexdigest()
            await conn.execute(insert(EVENTS), values)
        await conn.execute(
            text("UPDATE audit_head SET seq = 2, hash = :h, key_id = '' WHERE id = 1"), {"h": prev}
        )
    await append_many(chain, 1)
    await checkpoint_now(chain.sessions)
    result = await verify_against_checkpoints(chain.sessions)
    assert result.proven, result.details()
    segments = [(s.key_id, s.first, s.last) for s in result.segments]
    assert segments == [("", 1, 2), (key_id(derive_key(CHAIN_SECRET)), 3, 4)]
    assert result.details()[0].startswith("events #1–#2: legacy segment (plain sha256")


def test_the_canonical_form_is_what_json_dumps_writes_for_every_character() -> None:
    """Anyone can re-check an export with Python's json module: orjson's bytes are the same."""
    text_values = [
        "".join(map(chr, range(start, min(start + 4096, 0x110000)))) for start in range(0, 0x110000, 4096)
    ]
    for value in text_values:
        value = "".join(c for c in value if not 0xD800 <= ord(c) <= 0xDFFF)
        values = {
            **dict.fromkeys(HASHED_FIELDS),
            **OLD_EVENT,
            "message": value,
            "vmid": -(2**63),
            "seq": 2**63 - 1,
        }
        expected = {name: values[name] for name in HASHED_FIELDS} | {"at": "2026-01-01T00:00:00.000000+00:00"}
        plain = json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert canonical(values) == plain


async def test_each_checkpoint_covers_the_events_since_the_one_before(chain: Chain) -> None:
    empty = await checkpoint_now(chain.sessions)
    assert empty is not None and empty.seq == 0
    await append_many(chain, 2)
    second = await checkpoint_now(chain.sessions)
    assert second is not None and second.seq == 2 and second.head_key == key_id(derive_key(CHAIN_SECRET))
    lines = checkpoint_files(chain.checkpoints)[0].read_text().splitlines()
    assert len(lines) == 2 and lines[1] == second.line().strip()


async def test_verifying_while_others_append_finds_nothing_wrong(chain: Chain) -> None:
    async def writer() -> None:
        for i in range(30):
            await audit.append(chain.sessions, ACTOR, draft(i))

    async def checker() -> list[str | None]:
        kinds = []
        for _ in range(15):
            async with chain.sessions() as db:
                kinds.append((await verify_chain(db)).kind)
        return kinds

    *_, kinds = await asyncio.gather(writer(), writer(), checker())
    assert kinds == [None] * 15


async def test_an_event_slipped_in_beyond_the_head_is_named(chain: Chain) -> None:
    await append_many(chain, 2)
    extra = {**(await rows(chain))[1], "seq": 3}
    async with chain.engine.begin() as conn:
        await conn.execute(insert(EVENTS), extra)
    async with chain.sessions() as db:
        result = await verify_chain(db)
    assert (result.kind, result.broken_seq) == ("inserted", 3)


async def test_a_key_switch_without_a_rotation_record_is_named(chain: Chain) -> None:
    await append_many(chain, 2)
    other = chain.rekey("another key the verifier knows", CHAIN_SECRET)
    second = (await rows(chain))[1]
    forged = {**second, "seq": 3, "prev_hash": second["hash"], "key_id": other.current_id, "message": "hello"}
    forged["hash"] = seal(other.current, forged["prev_hash"], forged)
    async with chain.engine.begin() as conn:
        await conn.execute(insert(EVENTS), forged)
        await conn.execute(text("UPDATE audit_head SET seq = 3 WHERE id = 1"))
    async with chain.sessions() as db:
        result = await verify_chain(db)
    assert (result.kind, result.reason) == ("altered", "event #3 changes the key without a rotation record")


def unkeyed(events: list[dict[str, Any]], prev: str) -> list[dict[str, Any]]:
    """The events as the old unkeyed chain would hash them (plain sha256): what anyone can compute."""
    for event in events:
        event["key_id"], event["prev_hash"] = LEGACY, prev
        event["hash"] = prev = hashlib.sha256(prev.encode() + canonical(event, LEGACY_FIELDS)).hexdigest()
    return events


async def store_unkeyed(chain: Chain, events: list[dict[str, Any]], head_key: str | None = LEGACY) -> None:
    """Write these rehashed events over the stored ones; the head follows (its key id too unless None)."""
    async with chain.engine.begin() as conn:
        for event in events:
            await conn.execute(
                text(
                    "UPDATE audit_events SET target_name = :target_name, key_id = :key_id, "
                    "prev_hash = :prev_hash, hash = :hash WHERE seq = :seq"
                ),
                event,
            )
        key = "" if head_key is None else ", key_id = :key_id"
        await conn.execute(text(f"UPDATE audit_head SET hash = :hash{key} WHERE id = 1"), events[-1])  # noqa: S608


async def test_a_chain_rewritten_in_the_unkeyed_format_is_recomputed_not_truncated(chain: Chain) -> None:
    """Nothing was deleted: every event was rehashed as the old unkeyed chain did, which needs no key."""
    await append_many(chain, 4)
    await checkpoint_now(chain.sessions)
    events = await rows(chain)
    events[1]["target_name"] = "innocent"
    await store_unkeyed(chain, unkeyed(events, GENESIS))
    result = await verify_against_checkpoints(chain.sessions)
    assert (result.kind, result.broken_seq) == ("recomputed", 4), result.summary()
    assert result.reason is not None and result.reason.startswith(
        "event #4 is not the one the checkpoint of "
    )
    assert result.reason.endswith(
        "recorded #4: the events up to it were rewritten in the old unkeyed format (plain sha256), "
        "which needs no key"
    )


async def test_a_rewrite_in_the_unkeyed_format_under_a_keyed_head_is_named_without_checkpoints(
    chain: Chain,
) -> None:
    await append_many(chain, 3)
    events = await rows(chain)
    await store_unkeyed(chain, unkeyed(events, GENESIS), head_key=None)
    result = await verify_against_checkpoints(chain.sessions)
    assert (result.kind, result.broken_seq) == ("recomputed", 3), result.summary()
    assert result.reason == (
        f"the chain head says event #3 is sealed with key {key_id(derive_key(CHAIN_SECRET))}, but it is "
        "unkeyed: the events were rewritten without the key"
    )


@pytest.mark.parametrize("seq", [1, 2, 4])
async def test_an_event_whose_key_id_was_changed_is_named_without_checkpoints(chain: Chain, seq: int) -> None:
    """Its seal cannot be checked under a key nobody configured, but no rotation record opens that key."""
    await append_many(chain, 4)
    await checkpoint_now(chain.sessions)
    for path in checkpoint_files(chain.checkpoints):
        path.unlink()  # whoever edited the event emptied the checkpoint folder too
    async with chain.engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_events SET key_id = '0123456789abcdef' WHERE seq = :seq"), {"seq": seq}
        )
    result = await verify_against_checkpoints(chain.sessions)
    assert (result.ok, result.kind, result.broken_seq) == (False, "altered", seq), result.summary()
    assert result.reason is not None and result.reason.startswith(f"event #{seq} ")
    assert "0123456789abcdef" in result.reason and "rotation record" in result.reason


async def test_an_unkeyed_event_after_keyed_ones_is_an_alteration(chain: Chain) -> None:
    """Unkeyed events may only come first (from before the chain was keyed); one after keyed events is forged."""
    await append_many(chain, 3)
    third = (await rows(chain))[2]
    forged = {**third, "seq": 4, "target_name": "slipped in"}
    (forged,) = unkeyed([forged], third["hash"])
    async with chain.engine.begin() as conn:
        await conn.execute(insert(EVENTS), forged)
        await conn.execute(text("UPDATE audit_head SET seq = 4 WHERE id = 1"))
    result = await verify_against_checkpoints(chain.sessions)
    assert (result.kind, result.broken_seq) == ("recomputed", 4)
    assert result.reason == (
        "event #4 is unkeyed (plain sha256) but keyed events come before it: unkeyed events may only come "
        "first, from before the chain was keyed, so it was written without the key"
    )
    assert not any("legacy segment" in line for line in result.details()), result.details()
