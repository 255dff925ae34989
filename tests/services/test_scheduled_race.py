"""A cancel and the window's opening at the same moment: each scheduled request ends one way only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.db.approvals import ApprovalRequest
from app.db.models import utcnow
from app.services.accounts import Principal, Role
from app.services.approvals import status
from tests.services.conftest import Chain

RACES = 12


def _scheduled(n: int) -> ApprovalRequest:
    now = utcnow()
    return ApprovalRequest(
        operation="resize",
        risk="destructive",
        target_key=f"guest:{500 + n}",
        open_key=f"resize|guest:{500 + n}",
        vmid=500 + n,
        reason="grow",
        description=f"Resize VM {500 + n}",
        status="scheduled",
        requester_id=1,
        requester_name="alice",
        requester_method="session",
        expires_at=now + timedelta(hours=1),
        window_name="maintenance",
        run_at=now - timedelta(seconds=1),
        run_until=now + timedelta(hours=4),
    )


async def test_a_cancel_and_the_window_opening_at_once_give_exactly_one_outcome(chain: Chain) -> None:
    async with chain.sessions() as db:
        rows = [_scheduled(n) for n in range(RACES)]
        db.add_all(rows)
        await db.commit()
        ids = [int(r.id or 0) for r in rows]
    alice = Principal(1, "alice", Role.operator, "session")

    async def cancel(request_id: int) -> bool:
        async with chain.sessions() as db:
            done = await status.close(db, request_id, "cancelled", alice, None, status.CANCELLABLE)
            await db.commit()
            return done

    async def open_window(request_id: int) -> bool:
        async with chain.sessions() as db:
            done = await status.window_opened(db, request_id, utcnow())
            await db.commit()
            return done

    # One after the other, the first wins and the second changes nothing.
    first, second, *racing = ids
    assert await cancel(first) is True and await open_window(first) is False
    assert await open_window(second) is True and await cancel(second) is False
    # At once: half the races start with the cancel, half with the window runner.
    results = await asyncio.gather(
        *(
            asyncio.gather(cancel(i), open_window(i)) if n % 2 else asyncio.gather(open_window(i), cancel(i))
            for n, i in enumerate(racing)
        )
    )
    async with chain.sessions() as db:
        final = {i: row for i in ids if (row := await db.get(ApprovalRequest, i)) is not None}
    assert [final[i].status for i in (first, second)] == ["cancelled", "executing"]
    for n, (request_id, pair) in enumerate(zip(racing, results, strict=True)):
        cancelled, opened = pair if n % 2 else pair[::-1]
        assert cancelled != opened, (request_id, pair)
        row = final[request_id]
        assert row.status == ("cancelled" if cancelled else "executing")
        # A cancelled request frees its change for a new request; a running one keeps it open.
        assert (row.open_key is None) is cancelled
