"""The periodic sweep of each app process: policy file changes, requests past their time, orphaned executions,
old one-time keys."""

from __future__ import annotations

from app.services.approvals import ApprovalService
from app.services.background import Periodic
from app.services.pipeline import forget_old_keys


class Housekeeper(Periodic):
    """A background loop per process: expires requests past their time and settles orphaned executions."""

    name = "approval-housekeeper"

    def __init__(self, service: ApprovalService, interval: float = 15.0) -> None:
        super().__init__(interval)
        self.service = service

    async def round(self) -> None:
        """One sweep: expired requests, orphans, and one-time keys nobody will send again."""
        await self.service.audit_policy_changes()
        await self.service.expire_due()
        await self.service.settle_orphans()
        await forget_old_keys(self.service.sessions)
