"""ConfigNotes: the configs the index reads, handed in the background to whoever notes them (the side doors'
watch for configs changed beside Proxgate), so a pass never waits for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from app.proxmox.models import GuestResource
from app.services import audit

log = logging.getLogger(__name__)

Reading = tuple[audit.Target, Mapping[str, Any]]
NoteConfigs = Callable[[Sequence[Reading]], Awaitable[object]]


class ConfigNotes:
    """Collects the configs read and hands them on in batches, one batch at a time."""

    def __init__(self) -> None:
        self.note: NoteConfigs | None = None
        self._waiting: list[Reading] = []
        self._handing: asyncio.Task[None] | None = None

    def add(self, guest: GuestResource, config: Mapping[str, Any]) -> None:
        """A config was read: it is handed on soon (nothing is kept when nobody notes them)."""
        if self.note is None:
            return
        self._waiting.append((audit.Target(guest.node, guest.type, guest.vmid, guest.name or None), config))
        if self._handing is None or self._handing.done():
            self._handing = asyncio.create_task(self._hand_on(self.note))

    async def _hand_on(self, note: NoteConfigs) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await note(batch)
            except Exception:  # the next reading of these guests notes them again
                log.exception("noting %d guest configs failed", len(batch))

    async def aclose(self) -> None:
        """Stop handing on (the app is shutting down)."""
        if self._handing is not None and not self._handing.done():
            self._handing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._handing
