"""The loop that carries on the batches whose process stopped (a restart, a crash, a deploy)."""

from __future__ import annotations

import logging

from app.services.background import Periodic
from app.services.batches import BatchService

log = logging.getLogger(__name__)


class BatchResumer(Periodic):
    """A background loop per process: at start-up and every few seconds, takes over the running batches whose
    lease has run out; each is taken by one process, whichever looks first."""

    name = "batch-resumer"

    def __init__(self, batches: BatchService) -> None:
        # As often as a live process renews its leases: a batch left behind waits at most a lease and a round.
        super().__init__(batches.renew_every)
        self.batches = batches

    async def round(self) -> None:
        """Take over and carry on what is due."""
        for batch_id in await self.batches.take_over_expired():
            log.info("batch %s: taken over by process %s", batch_id, self.batches.owner)
