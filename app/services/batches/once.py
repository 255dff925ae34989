"""A batch sent with a one-time key: a repeat of the same batch by the same person answers the first batch."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from types import TracebackType

from app.services.batches import store
from app.services.batches.store import BatchItem
from app.services.pipeline import keys

OTHER_VALUES = (
    "The one-time key '{key}' was already sent with another batch (other guests, operation or values); "
    "send this one with a new key."
)


def asked(
    operation: str, items: Sequence[BatchItem], reason: str, concurrency: int | None, stop_on_failure: bool
) -> str:
    """A digest of the batch asked, to tell a repeat from another batch under the same key."""
    parts = [operation, [[i.vmid, i.params, i.done] for i in items], reason, concurrency, stop_on_failure]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Claim:
    """The key of one start, bound to its batch when the batch was stored, freed when it was not.

    Without a key it does nothing: every start is then a new batch."""

    def __init__(self, sessions: store.Sessions, user_id: int, key: str | None, batch_id: str) -> None:
        self.sessions, self.user_id, self.key, self.batch_id = sessions, user_id, key, batch_id

    async def take(self, operation: str, digest: str) -> str | None:
        """Reserve the key; None when it is new, the first batch's id when the same batch was sent with it."""
        if self.key is None:
            return None
        keys.check_key(self.key)
        other = OTHER_VALUES.format(key=self.key)
        first = await keys.claim(self.sessions, self.user_id, self.key, operation, digest, other)
        return None if first is None else str(first["batch_id"])

    async def __aenter__(self) -> Claim:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.key is None:
            return
        # A start that failed after its batch was stored may still run it (a takeover): the key stays its own.
        # When the database cannot say, the key stays claimed: a repeat never makes a second batch.
        try:
            stored = kind is None or await store.load(self.sessions, self.batch_id) is not None
        except Exception:
            return
        if stored:
            await keys.bind(self.sessions, self.user_id, self.key, {"batch_id": self.batch_id})
        else:
            await keys.release(self.sessions, self.user_id, self.key)
