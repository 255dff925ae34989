"""Each node's own usage: fakepve gives every node the same numbers, so a demo's nodes looked identical. Memory and
CPU follow the guests running on the node; the root disk differs by node."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pvesim.base import DemoBase
from pvesim.units import GIB, MIB

# What a node uses with no guest running (Proxmox itself, ZFS ARC, caches), and per running guest's core.
IDLE_MEMORY = 5 * GIB
IDLE_CPU, CPU_PER_CORE = 0.015, 0.004
# Its root disk: the system, then what each further node keeps more of (ISO images, logs).
ROOT_USED, ROOT_MORE_PER_NODE = 8.6 * GIB, 2.9 * GIB
# The usage fields a node entry carries, in the order fakepve writes them (uptime, after them, changes each second).
FIELDS = ("cpu", "maxcpu", "mem", "maxmem", "disk", "maxdisk")


def _number(value: Any, default: int) -> int:
    """A config number as fakepve keeps it ('2048', 4, or None)."""
    try:
        return int(str(value).split("=")[-1])
    except ValueError:
        return default


class NodeUsageMixin(DemoBase):
    """Per-node usage in /nodes, a node's status and its history (and /cluster/resources: pvesim/resources.py)."""

    def _node_usage(self, node: str) -> dict[str, Any]:
        """The node's usage: fakepve's shape (_node_stats) with this node's memory, CPU and root disk."""
        running = [g for g in [*self.vms, *self.cts] if g.node == node and g.status == "running"]
        memory = sum(_number(g.config.get("memory"), 512) * MIB for g in running)
        cores = sum(_number(g.config.get("cores"), 1) for g in running)
        return self._usage_of(node, memory, cores)

    def _usage_of(self, node: str, memory: int, cores: int) -> dict[str, Any]:
        """fakepve's node stats with this node's root disk and the memory and cores its running guests use."""
        stats = dict(self._node_stats(True))
        memory += IDLE_MEMORY
        index = sorted(self.nodes).index(node) if node in self.nodes else 0
        stats["mem"] = min(memory, int(stats["maxmem"] * 0.95))
        stats["cpu"] = round(min(0.95, IDLE_CPU + CPU_PER_CORE * cores), 4)
        stats["disk"] = int(ROOT_USED + ROOT_MORE_PER_NODE * index)
        return stats

    def _node_usages(self) -> dict[str, dict[str, Any]]:
        """Every node's usage in one pass over the guests (_node_usage per node reads them all each time)."""
        memory: dict[str, int] = dict.fromkeys(self.nodes, 0)
        cores: dict[str, int] = dict.fromkeys(self.nodes, 0)
        for guest in [*self.vms, *self.cts]:
            if guest.status == "running" and guest.node in memory:
                memory[guest.node] += _number(guest.config.get("memory"), 512) * MIB
                cores[guest.node] += _number(guest.config.get("cores"), 1)
        return {node: self._usage_of(node, memory[node], cores[node]) for node in self.nodes}

    async def _nodes(self, request: web.Request) -> web.Response:
        """GET /nodes with each online node's own usage."""
        response: web.Response = await super()._nodes(request)
        if response.text is None:
            return response
        nodes = json.loads(response.text)["data"]
        for item in nodes:
            if item.get("status") == "online":
                item.update({k: v for k, v in self._node_usage(item["node"]).items() if k in FIELDS})
        return web.json_response({"data": nodes})
