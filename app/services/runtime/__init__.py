"""Loops beside the requests: expiring requests, starting those whose window opened, carrying on batches whose
process stopped, returning freed memory."""

from app.services.runtime.housekeeping import Housekeeper
from app.services.runtime.memory import MemoryTrimmer
from app.services.runtime.resuming import BatchResumer
from app.services.runtime.windows import WindowRunner

__all__ = ["BatchResumer", "Housekeeper", "MemoryTrimmer", "WindowRunner"]
