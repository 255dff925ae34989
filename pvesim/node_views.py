"""Node-level answers as PVE gives them: audit filtering of cluster views, and a real /nodes/{node}/status."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from pvesim.base import DemoBase
from pvesim.units import GIB

# What pveversion says on the demo's nodes (PVE 9.1, the release whose API schema fakepve validates against).
PVE_MANAGER = "pve-manager/9.1.9/2c5d3d34c7b4b7a8"
KERNEL = "6.17.2-1-pve"


class NodeViewsMixin(DemoBase):
    """fakepve answers /cluster/status and node entries to anyone; PVE needs Sys.Audit on them."""

    async def _cluster_status(self, request: web.Request) -> web.Response:
        """GET /cluster/status needs Sys.Audit on / (403 in PVE's words otherwise)."""
        self.require(self._user_of(request), "/", "Sys.Audit")
        response: web.Response = await super()._cluster_status(request)
        return response

    def _may_see(self, user: str, item: dict[str, Any]) -> bool:
        """Whether user may see this /cluster/resources entry (nodes need Sys.Audit, storages Datastore.Audit)."""
        if item.get("type") == "node":
            return bool(self.allowed(user, "/nodes/" + item["node"], "Sys.Audit"))
        if item.get("type") == "storage":
            return bool(self.allowed(user, "/storage/" + item["storage"], "Datastore.Audit"))
        return True

    @staticmethod
    def _user_of(request: web.Request) -> str:
        from fakepve.server import USER  # the key fakepve stores the authenticated user under

        return str(request[USER])

    def _routes_node_status(self) -> list[tuple[str, str, Any]]:
        return [("GET", "/nodes/{node}/status", self._node_status)]

    async def _node_status(self, values: dict[str, Any], user: str) -> dict[str, Any]:
        """GET /nodes/{node}/status: usage, load, versions (the schema already checked Sys.Audit)."""
        stats = self._node_usage(values["node"])
        return {
            "cpu": stats["cpu"],
            "cpuinfo": {"cores": 16, "cpus": stats["maxcpu"], "sockets": 1, "model": "AMD EPYC 4344P 8-Core"},
            "memory": {
                "total": stats["maxmem"],
                "used": stats["mem"],
                "free": stats["maxmem"] - stats["mem"],
            },
            "rootfs": {
                "total": stats["maxdisk"],
                "used": stats["disk"],
                "avail": stats["maxdisk"] - stats["disk"],
            },
            "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
            "loadavg": ["0.42", "0.51", "0.48"],
            "uptime": stats["uptime"],
            "pveversion": PVE_MANAGER,
            "kversion": f"Linux {KERNEL} #1 SMP PREEMPT_DYNAMIC PMX {KERNEL} ({time.strftime('%Y-%m-%d')})",
            "current-kernel": {"sysname": "Linux", "release": KERNEL, "machine": "x86_64"},
            "boot-info": {"mode": "efi", "secureboot": 0},
            "idle": 0,
            "wait": 0.001,
        }
