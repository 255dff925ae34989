"""Side doors: tasks run in Proxmox without Proxgate (recorded in the audit chain once, with alerts for the
destructive ones), and the report of which Proxmox users and tokens can still change guests beside it."""

from app.services.sidedoors.alerts import acknowledge, list_alerts, open_alerts
from app.services.sidedoors.capabilities import CAPABILITIES
from app.services.sidedoors.configs import ConfigWatch
from app.services.sidedoors.observer import ObserverStatus, TaskObserver
from app.services.sidedoors.principals import Principal
from app.services.sidedoors.record import METHOD, Recorder
from app.services.sidedoors.report import SideDoorReport, SideDoors

__all__ = [
    "CAPABILITIES",
    "ConfigWatch",
    "METHOD",
    "ObserverStatus",
    "Principal",
    "Recorder",
    "SideDoorReport",
    "SideDoors",
    "TaskObserver",
    "acknowledge",
    "list_alerts",
    "open_alerts",
]
