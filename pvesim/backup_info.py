"""GET /cluster/backup-info/not-backed-up from the demo's state (fakepve answers a made-up guest)."""

from __future__ import annotations

from typing import Any

from pvesim.base import DemoBase, guest_kind


class BackupInfoMixin(DemoBase):
    """Mixin of DemoPve: the guests no backup covers.

    PVE lists the guests that no backup job includes. The demo keeps no backup jobs; its nightly job is
    told by the archives it left, so a guest counts as covered when any storage holds a backup of it.
    """

    def _routes_backup_info(self) -> list[tuple[str, str, Any]]:
        return [("GET", "/cluster/backup-info/not-backed-up", self._not_backed_up)]

    async def _not_backed_up(self, values: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """Items {vmid, name, type} as the schema says (the schema already checked Sys.Audit on /)."""
        covered = self.backed_up_vmids()
        out = []
        for guest in sorted([*self.vms, *self.cts], key=lambda g: g.vmid):
            if guest.vmid in covered:
                continue
            item: dict[str, Any] = {"vmid": guest.vmid, "type": guest_kind(guest)}
            if guest.name:
                item["name"] = guest.name
            out.append(item)
        return out

    def backed_up_vmids(self) -> set[int]:
        """The vmids that own a backup volume on any storage."""
        found: set[int] = set()
        for store in self.storages.values():
            for vol in store.get("volumes", {}).values():
                if vol.get("content") == "backup" and vol.get("vmid") is not None:
                    found.add(int(vol["vmid"]))
        return found
