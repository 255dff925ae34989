"""HA's state as PVE's HA stack reports it (fakepve answers only examples): its resources, groups (PVE 8) and
node-affinity rules (PVE 9), the status of its LRMs and services, and node maintenance mode.

PVE switches maintenance mode only on the command line (`ha-manager crm-command node-maintenance enable
NODE`; the API has no call for it): demo_node_maintenance() does what that command leads to. The CRM moves
every HA guest off the node to the group's best node (else the one with fewest HA guests), its LRM reports
'maintenance mode', and once disabled the guests come back to the node they left."""

from __future__ import annotations

import time
from typing import Any

from pvesim.migrate import ha_kind


def _ranked(spec: str) -> list[str]:
    """'pve1:2,pve2' as node names, highest priority first."""
    pairs = [part.strip().partition(":") for part in spec.split(",") if part.strip()]
    return [name for name, _, prio in sorted(pairs, key=lambda p: -int(p[2] or 0))]


class HaMixin:
    """Mixin of DemoPve: HA's resources, groups, rules and status, and node maintenance mode."""

    def _routes_demo_ha(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/cluster/ha/status/current", self._demo_ha_status),
            ("GET", "/cluster/ha/resources", self._demo_ha_resources),
            ("GET", "/cluster/ha/groups", self._demo_ha_groups),
            ("GET", "/cluster/ha/rules", self._demo_ha_rules),
        ]

    def demo_ha_guests(self) -> list[Any]:
        """Every guest HA manages."""
        guests = [*self.vms, *self.cts]  # type: ignore[attr-defined]
        return [g for g in guests if g.ha_managed]

    def demo_sid(self, guest: Any) -> str:
        """HA's id of a guest: vm:100, ct:101."""
        return f"{ha_kind(guest)}:{guest.vmid}"

    async def _demo_ha_resources(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """PVE::API2::HA::Resources index: one entry per resource (type filter: vm or ct)."""
        found = []
        for guest in self.demo_ha_guests():
            if v.get("type") and v["type"] != ha_kind(guest):
                continue
            entry = {"sid": self.demo_sid(guest), "type": ha_kind(guest), "state": guest.ha_state}
            group = self.ha_group_of.get(guest.vmid)  # type: ignore[attr-defined]
            if group:
                entry["group"] = group
            found.append(entry)
        return found

    async def _demo_ha_groups(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """PVE 8's HA groups: name, nodes with priorities, restricted."""
        groups: dict[str, dict[str, Any]] = self.ha_groups  # type: ignore[attr-defined]
        return [{"group": name, "type": "group", **spec} for name, spec in sorted(groups.items())]

    async def _demo_ha_rules(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """PVE 9's HA rules (node-affinity: resources, nodes with priorities, strict)."""
        rules: dict[str, dict[str, Any]] = self.ha_rules  # type: ignore[attr-defined]
        return [{"rule": name, **spec} for name, spec in sorted(rules.items())]

    async def _demo_ha_status(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """PVE::API2::HA::Status current: quorum, master, fencing, each node's LRM and each service, worded as
        pve-ha-manager words them ("pve1 (maintenance mode, watchdog active, Sun Dec  6 12:00:00 2026)")."""
        now = int(time.time())
        stamp = time.asctime(time.localtime(now))  # Perl's scalar localtime
        nodes = sorted(self.nodes)  # type: ignore[attr-defined]
        master = nodes[0]
        found: list[dict[str, Any]] = [
            {"id": "quorum", "type": "quorum", "node": master, "status": "OK", "quorate": 1}
        ]
        guests = self.demo_ha_guests()
        if not guests:
            return found
        found += [
            {
                "id": "master",
                "type": "master",
                "node": master,
                "status": f"{master} (active, {stamp})",
                "timestamp": now,
            },
            {
                "id": "fencing",
                "type": "fencing",
                "node": master,
                "status": "armed (CRM watchdog active)",
                "armed-state": "armed",
            },
        ]
        for node in nodes:
            busy = any(g.node == node for g in guests)
            if node in self.ha_maintenance:  # type: ignore[attr-defined]
                state, watchdog = "maintenance mode", "watchdog active"
            else:
                state, watchdog = ("active", "watchdog active") if busy else ("idle", "watchdog standby")
            found.append(
                {
                    "id": f"lrm:{node}",
                    "type": "lrm",
                    "node": node,
                    "status": f"{node} ({state}, {watchdog}, {stamp})",
                    "timestamp": now,
                }
            )
        for guest in guests:
            sid = self.demo_sid(guest)
            found.append(
                {
                    "id": f"service:{sid}",
                    "type": "service",
                    "sid": sid,
                    "node": guest.node,
                    "state": guest.ha_state,
                    "crm_state": guest.ha_state,
                    "request_state": guest.ha_state,
                    "status": f"{sid} ({guest.node}, {guest.ha_state})",
                }
            )
        return found

    def _demo_ha_target(self, guest: Any, leaving: str) -> str | None:
        """Where the CRM sends a guest off a node in maintenance: its group's best node, else the node with
        the fewest HA guests."""
        usable = [n for n in sorted(self.nodes) if n != leaving and n not in self.ha_maintenance]  # type: ignore[attr-defined]
        group = self.ha_groups.get(self.ha_group_of.get(guest.vmid, ""))  # type: ignore[attr-defined]
        if group:
            preferred = [n for n in _ranked(str(group.get("nodes", ""))) if n in usable]
            if preferred or str(group.get("restricted", 0)) == "1":
                return preferred[0] if preferred else None
        load = {n: sum(1 for g in self.demo_ha_guests() if g.node == n) for n in usable}
        return min(usable, key=lambda n: (load[n], n)) if usable else None

    async def demo_node_maintenance(self, node: str, enabled: bool) -> None:
        """`ha-manager crm-command node-maintenance enable|disable NODE`: HA moves its guests away, or back."""
        maintenance: dict[str, dict[int, str]] = self.ha_maintenance  # type: ignore[attr-defined]
        if enabled:
            moved = maintenance.setdefault(node, {})
            for guest in [g for g in self.demo_ha_guests() if g.node == node]:
                target = self._demo_ha_target(guest, node)
                if target is not None:
                    moved[guest.vmid] = node
                    await self._demo_ha_queue(guest, target)  # type: ignore[attr-defined]
            return
        for vmid in maintenance.pop(node, {}):
            guest = self.guest(vmid)  # type: ignore[attr-defined]
            if guest is not None and guest.ha_managed and guest.node != node:
                await self._demo_ha_queue(guest, node)  # type: ignore[attr-defined]
