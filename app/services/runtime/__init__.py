"""What runs beside the requests for the life of a process: expiring requests, starting those whose maintenance
window opened, returning freed memory."""

from app.services.runtime.housekeeping import Housekeeper
from app.services.runtime.memory import MemoryTrimmer
from app.services.runtime.windows import WindowRunner

__all__ = ["Housekeeper", "MemoryTrimmer", "WindowRunner"]
