"""What runs beside the requests for the life of a process: expiring requests, returning freed memory."""

from app.services.runtime.housekeeping import Housekeeper
from app.services.runtime.memory import MemoryTrimmer

__all__ = ["Housekeeper", "MemoryTrimmer"]
