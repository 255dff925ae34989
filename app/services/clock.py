"""The time the approval policy reads: the real time, moved by an offset that tests set instead of waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db.models import utcnow


@dataclass
class Clock:
    """Now, as freezes, windows and the policy file's checks see it."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        """The current time in UTC, moved by the offset."""
        return utcnow() + self.offset

    def move(self, by: timedelta) -> None:
        """Move this clock (tests do, to reach a window or the end of a freeze without waiting)."""
        self.offset += by
