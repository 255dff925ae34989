"""The periodic sweep of each app process: policy file changes, requests past their time, orphaned executions,
old one-time keys, received files nothing will upload."""

from __future__ import annotations

from pathlib import Path

from app.services.approvals import ApprovalService
from app.services.background import Periodic
from app.services.pipeline import forget_old_keys, sweep_staging


class Housekeeper(Periodic):
    """A background loop per process: expires requests past their time and settles orphaned executions."""

    name = "approval-housekeeper"

    def __init__(self, service: ApprovalService, staging: Path | None = None, interval: float = 15.0) -> None:
        super().__init__(interval)
        self.service = service
        # Where files received for an upload wait (the first round, at start-up, sweeps what a stop left).
        self.staging = staging

    async def round(self) -> None:
        """One sweep: expired requests, orphans, one-time keys nobody will send again, unused received files."""
        await self.service.audit_policy_changes()
        await self.service.expire_due()
        await self.service.settle_orphans()
        await forget_old_keys(self.service.sessions)
        if self.staging is not None:
            await sweep_staging(self.service.sessions, self.staging)
