"""Loops beside the requests: expiring requests, opened windows, batches whose process stopped, freed memory."""

from app.services.runtime.housekeeping import Housekeeper
from app.services.runtime.memory import MemoryTrimmer
from app.services.runtime.resuming import BatchResumer
from app.services.runtime.windows import WindowRunner

__all__ = ["BatchResumer", "Housekeeper", "MemoryTrimmer", "WindowRunner"]
