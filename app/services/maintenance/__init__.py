"""Node maintenance: the plan that empties a node (where each guest goes and why), run as a batch of
migrations, and the way back afterwards."""

from app.services.maintenance.service import MaintenanceService

__all__ = ["MaintenanceService"]
