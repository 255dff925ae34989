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
    """Per-node usage in /nodes, /cluster/resources, a node's status and its history."""

    def _node_usage(self, node: str) -> dict[str, Any]:
        """The node's usage: fakepve's shape (_node_stats) with this node's memory, CPU and root disk."""
        stats = dict(self._node_stats(True))
        running = [g for g in [*self.vms, *self.cts] if g.node == node and g.status == "running"]
        memory = IDLE_MEMORY + sum(_number(g.config.get("memory"), 512) * MIB for g in running)
        cores = sum(_number(g.config.get("cores"), 1) for g in running)
        index = sorted(self.nodes).index(node) if node in self.nodes else 0
        stats["mem"] = min(memory, int(stats["maxmem"] * 0.95))
        stats["cpu"] = round(min(0.95, IDLE_CPU + CPU_PER_CORE * cores), 4)
        stats["disk"] = int(ROOT_USED + ROOT_MORE_PER_NODE * index)
        return stats

    async def _resources(self, request: web.Request) -> web.Response:
        """GET /cluster/resources with each online node's own usage. The answer can be megabytes at thousands of
        guests, so each node's usage is written over fakepve's shared one in the text, not parsed and written again."""
        response: web.Response = await super()._resources(request)
        text = response.text
        if text is None:
            return response
        shared = self._node_stats(True)
        for node, state in self.nodes.items():
            if not state.get("online", True):
                continue
            head = f'"node": {json.dumps(node)}, "status": "online", "level": "", '
            own = self._node_usage(node)
            before = head + ", ".join(f'"{k}": {json.dumps(shared[k])}' for k in FIELDS)
            after = head + ", ".join(f'"{k}": {json.dumps(own[k])}' for k in FIELDS)
            text = text.replace(before, after, 1)
        return web.Response(text=text, content_type="application/json")

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
