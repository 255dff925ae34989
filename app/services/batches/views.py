"""A batch as pages, the API and agents see it: its items with where each stands, and the counts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.batches import Batch, BatchMember

ITEM_STATUSES = ("waiting", "running", "succeeded", "failed", "skipped")


def every_status(seen: Mapping[str, int]) -> dict[str, int]:
    """How many items are in each status, every status named (zeros too), in their order."""
    return {status: seen.get(status, 0) for status in ITEM_STATUSES}


@dataclass(frozen=True)
class BatchItemView:
    """One guest's part: where it stands, its task and how it ended."""

    vmid: int
    name: str
    node: str
    status: str
    upid: str | None
    message: str
    params: dict[str, Any]
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class BatchView:
    """A batch: what, by whom, why, how far it is, and each guest's part in order."""

    id: str
    kind: str
    operation: str
    status: str
    created_by: str
    reason: str
    concurrency: int
    stop_on_failure: bool
    approval_id: int | None
    meta: dict[str, Any]
    created_at: datetime
    ended_at: datetime | None
    items: list[BatchItemView]
    # The process that took the batch over from one that stopped, and when (None: never taken over).
    resumed_by: str | None = None
    resumed_at: datetime | None = None

    @property
    def counts(self) -> dict[str, int]:
        """How many items are in each status (every status named, zeros too)."""
        return every_status(Counter(item.status for item in self.items))

    @property
    def running(self) -> bool:
        """True while items may still change (the page keeps refreshing)."""
        return self.status in ("running", "pending")


@dataclass(frozen=True)
class BatchSummary:
    """A batch in a list: what, by whom, when, and how many of its guests stand where."""

    id: str
    kind: str
    operation: str
    status: str
    created_by: str
    reason: str
    created_at: datetime
    ended_at: datetime | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """How many guests the batch has."""
        return sum(self.counts.values())


def batch_summary(batch: Batch, counts: dict[str, int]) -> BatchSummary:
    """The summary of a stored batch and its items' counts (every status named, zeros too)."""
    return BatchSummary(
        id=batch.id,
        kind=batch.kind,
        operation=batch.operation,
        status=batch.status,
        created_by=batch.created_by,
        reason=batch.reason,
        created_at=batch.created_at,
        ended_at=batch.ended_at,
        counts=every_status(counts),
    )


def batch_view(batch: Batch, items: list[BatchMember]) -> BatchView:
    """The view of stored rows."""
    return BatchView(
        id=batch.id,
        kind=batch.kind,
        operation=batch.operation,
        status=batch.status,
        created_by=batch.created_by,
        reason=batch.reason,
        concurrency=batch.concurrency,
        stop_on_failure=batch.stop_on_failure,
        approval_id=batch.approval_id,
        meta=json.loads(batch.meta or "{}"),
        created_at=batch.created_at,
        ended_at=batch.ended_at,
        items=[
            BatchItemView(
                vmid=i.vmid,
                name=i.name,
                node=i.node,
                status=i.status,
                upid=i.upid,
                message=i.message,
                params=json.loads(i.params or "{}"),
                started_at=i.started_at,
                ended_at=i.ended_at,
            )
            for i in items
        ],
        resumed_by=batch.resumed_by,
        resumed_at=batch.resumed_at,
    )
