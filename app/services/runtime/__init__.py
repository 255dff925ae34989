"""Loops beside the requests: expiring requests, starting those whose window opened, returning freed memory."""

from app.services.runtime.housekeeping import Housekeeper
from app.services.runtime.memory import MemoryTrimmer
from app.services.runtime.windows import WindowRunner

__all__ = ["Housekeeper", "MemoryTrimmer", "WindowRunner"]
