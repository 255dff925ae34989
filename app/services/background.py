"""Background loops of one app process: a round every few seconds (or sooner when woken) until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class Periodic:
    """Runs round() every `interval` seconds; a failing round is logged and the loop goes on."""

    name = "periodic"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def round(self) -> None:
        """One round of work (subclasses)."""
        raise NotImplementedError

    def start(self) -> None:
        """Begin in the background."""
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop; what is stored stays for another process or the next start."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.round()
            except Exception:  # the loop must outlive a bad round (database or Proxmox trouble)
                log.exception("%s round failed", self.name)
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.interval)
