"""Keeping a lease: renewed in the background, a few times in its life, for as long as the work it covers lasts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType

log = logging.getLogger(__name__)
# A lease is renewed this many times in its life, so one late renewal (a busy database) never loses it.
RENEWALS = 3


class LeaseKeeper:
    """Calls `renew` RENEWALS times per `lease` while the `async with` block runs; `holds` turns False once a
    renewal says the lease is no longer ours (another process took the work over), and renewing stops."""

    def __init__(self, renew: Callable[[], Awaitable[bool]], lease: timedelta, name: str) -> None:
        self._renew_once = renew
        self.lease = lease
        self.name = name
        self._lost = False
        self._task: asyncio.Task[None] | None = None

    def holds(self) -> bool:
        """True while no renewal found the lease taken."""
        return not self._lost

    async def __aenter__(self) -> LeaseKeeper:
        self._task = asyncio.create_task(self._renew(), name=self.name)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _renew(self) -> None:
        while not self._lost:
            await asyncio.sleep(self.lease.total_seconds() / RENEWALS)
            try:
                self._lost = not await self._renew_once()
            except Exception:  # a database hiccup: the next renewal is still in time
                log.warning("%s: the lease could not be renewed", self.name, exc_info=True)
