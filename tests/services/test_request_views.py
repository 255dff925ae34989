"""A list of requests with their approvals is read in one query, whatever its length (the approvals page)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from app.db.approvals import Approval, ApprovalRequest
from app.db.models import utcnow
from app.services.approvals import request_views
from tests.services.conftest import Chain


def _request(n: int) -> ApprovalRequest:
    return ApprovalRequest(
        operation="delete",
        risk="destructive",
        target_key=f"guest:{100 + n}",
        vmid=100 + n,
        reason="tidy up",
        description=f"Delete VM {100 + n}",
        requester_id=1,
        requester_name="alice",
        requester_method="session",
        expires_at=utcnow() + timedelta(hours=1),
    )


async def test_twenty_requests_and_their_approvals_take_one_query(chain: Chain) -> None:
    async with chain.sessions() as db:
        rows = [_request(n) for n in range(20)]
        db.add_all(rows)
        await db.flush()
        for n, row in enumerate(rows):
            for who in range(n % 3):  # none, one or two approvals each
                db.add(
                    Approval(
                        request_id=row.id or 0, user_id=10 + who, user_name=f"bob{who}", auth_method="session"
                    )
                )
        await db.commit()
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(chain.engine.sync_engine, "before_cursor_execute", count)
        try:
            views = await request_views(db, rows)
        finally:
            event.remove(chain.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert [v.row.id for v in views] == [r.id for r in rows]
    assert [[a.user_name for a in v.approvals] for v in views] == [
        ["bob0", "bob1"][: n % 3] for n in range(20)
    ]
    assert await request_views(db, []) == []
