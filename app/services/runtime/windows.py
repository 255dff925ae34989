"""The loop that starts approved requests when their maintenance window opens (and expires those it missed)."""

from __future__ import annotations

from app.services.background import Periodic
from app.services.pipeline import Gate


class WindowRunner(Periodic):
    """A background loop per process: every few seconds, runs the scheduled requests whose window is open."""

    name = "window-runner"

    def __init__(self, gate: Gate, interval: float = 2.0) -> None:
        super().__init__(interval)
        self.gate = gate

    async def round(self) -> None:
        """Start what is due; each request moves to running once, whichever process looks first."""
        await self.gate.run_windows_due()
