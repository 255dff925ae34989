"""Side-door alerts for the agent tests, written into the app's database as the observer writes them when a
guest is deleted in Proxmox directly, and removed afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from app.config import Settings
from tests.approval_guests import select_rows, sql


@dataclass(frozen=True)
class Alert:
    """One alert the test made: its id, key and message."""

    id: int
    key: str
    message: str


def alerts_made(settings: Settings, vmids: tuple[int, ...]) -> Iterator[list[Alert]]:
    """For a fixture: an open alert for each VMID (a deletion by ci@pve!deploy), oldest first."""
    stamp = time.time_ns()
    made: list[Alert] = []
    for vmid in vmids:
        key, message = (
            f"removed:{vmid}:{stamp}",
            f"VM {vmid} (agent-{vmid}) was deleted in Proxmox by ci@pve!deploy",
        )
        sql(
            settings,
            "INSERT INTO side_door_alerts (upid, vmid, message, created_at) VALUES (:k, :v, :m, :t)",
            k=key,
            v=vmid,
            m=message,
            t=datetime.now(UTC),
        )
        ((alert_id,),) = select_rows(settings, "SELECT id FROM side_door_alerts WHERE upid = :k", k=key)
        made.append(Alert(alert_id, key, message))
    yield made
    for alert in made:
        sql(settings, "DELETE FROM side_door_alerts WHERE id = :i", i=alert.id)
