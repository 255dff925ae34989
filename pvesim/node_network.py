"""GET /nodes/{node}/network from the demo's state: each node's bridges and ports (fakepve answers one sample
for every node and ignores the `type` filter)."""

from __future__ import annotations

from typing import Any

from pvesim.base import DemoBase

# PVE's `type` filter: the kinds each value lists (any_bridge: Linux and OVS bridges).
TYPE_FILTER = {
    "any_bridge": {"bridge", "OVSBridge"},
    "any_local_bridge": {"bridge", "OVSBridge"},
    "include_sdn": {
        "bridge",
        "bond",
        "eth",
        "alias",
        "vlan",
        "OVSBridge",
        "OVSBond",
        "OVSPort",
        "OVSIntPort",
    },
}


def node_interfaces(node: str) -> list[dict[str, Any]]:
    """A node's interfaces: a port and the main bridge; every node but each third one has the storage VLAN
    bridge vmbr1 too, so the nodes of a cluster differ as they do in life."""
    number = int("".join(c for c in node if c.isdigit()) or "0")
    out: list[dict[str, Any]] = [
        {"iface": "eno1", "type": "eth", "method": "manual", "method6": "manual", "families": ["inet"]},
        {
            "iface": "vmbr0",
            "type": "bridge",
            "method": "static",
            "method6": "manual",
            "families": ["inet"],
            "cidr": f"10.0.0.{10 + number}/24",
            "address": f"10.0.0.{10 + number}",
            "netmask": "255.255.255.0",
            "gateway": "10.0.0.1",
            "bridge_ports": "eno1",
            "comments": "LAN",
        },
    ]
    if number % 3:
        out.append(
            {
                "iface": "vmbr1",
                "type": "bridge",
                "method": "manual",
                "method6": "manual",
                "families": ["inet"],
                "bridge_ports": "eno2",
                "bridge_vlan_aware": 1,
                "comments": "storage VLANs",
            }
        )
    for item in out:
        item.update(active=1, autostart=1, exists=1, priority=len(item))
    return out


class NodeNetworkMixin(DemoBase):
    """Mixin of DemoPve: per-node network interfaces, filtered by type as PVE does (the schema has already
    checked the parameters and that the node exists)."""

    def _routes_demo_network(self) -> list[tuple[str, str, Any]]:
        return [("GET", "/nodes/{node}/network", self._demo_network)]

    async def _demo_network(self, values: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """The node's interfaces; `type` keeps one kind (or a group such as any_bridge)."""
        wanted = values.get("type")
        kinds = TYPE_FILTER.get(wanted, {wanted}) if wanted else None
        return [dict(i) for i in node_interfaces(values["node"]) if kinds is None or i["type"] in kinds]
