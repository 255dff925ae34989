"""GET /cluster/resources as cheap as PVE's, which reads it from pmxcfs's in-memory status: each guest's entry is
kept and built again only when what it is built from changed, and the answer is encoded once with orjson.

fakepve builds every entry (parsing every config's disks) and encodes 3 MB with json on each call: at 10,000
guests that took most of the simulator's one event loop, and every other answer waited behind it.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web
from fakepve.server import USER

from pvesim.node_usage import FIELDS
from pvesim.node_views import NodeViewsMixin


def _vm_state(vm: Any, online: bool) -> tuple[Any, ...]:
    """What a VM's entry is built from besides its config, its stats and the clock (fakepve's _resources)."""
    return (vm.vmid, vm.node, vm.name, vm.status, online, vm.template, vm.lock, vm.pool, vm.ha_state)


def _ct_state(ct: Any, online: bool) -> tuple[Any, ...]:
    """What a container's entry is built from besides its config and the clock (name, lock, template are keys)."""
    return (ct.vmid, ct.node, ct.status, online, ct.pool, ct.ha_state)


class _Kept:
    """A guest's last entry and copies of what it was built from, compared with the guest's state on each answer."""

    __slots__ = ("config", "guest", "item", "state", "stats")

    def __init__(self, guest: Any, state: tuple[Any, ...], item: dict[str, Any]) -> None:
        self.guest, self.state, self.item = guest, state, item
        self.config, self.stats = dict(guest.config), dict(getattr(guest, "stats", {}))

    def holds(self, guest: Any, state: tuple[Any, ...]) -> bool:
        """Whether the entry still is the guest's (dict comparisons, which allocate nothing)."""
        return (
            self.guest is guest
            and self.state == state
            and self.config == guest.config
            and self.stats == getattr(guest, "stats", self.stats)
        )


class ResourcesMixin(NodeViewsMixin):
    """The whole /cluster/resources answer: guests (kept entries), nodes with their own usage, storages."""

    # id(guest) -> its last entry.
    _resource_memo: dict[int, _Kept]
    # Storage use while one answer is built (DemoPve._storage_resource reads it): {storage: (total, used, avail)}.
    space_memo: dict[str, tuple[int, int, int]] | None

    async def _resources(self, request: web.Request) -> web.Response:
        """GET /cluster/resources[?type=vm|node|storage], as the caller may audit it."""
        kind = request.query.get("type")
        user = str(request[USER])
        data: list[dict[str, Any]] = []
        if kind in (None, "vm"):
            data += self._guest_resources(user)
        if kind in (None, "node"):
            data += self._node_resources()
        if kind in (None, "storage"):
            data += self._storage_resources()
        if self.acl is not None:
            data = [item for item in data if self._may_see(user, item)]
        return web.Response(body=orjson.dumps({"data": data}), content_type="application/json")

    def _guest_resources(self, user: str) -> list[dict[str, Any]]:
        """VMs then containers, each entry rebuilt only when the guest's state changed since the last answer."""
        before: dict[int, _Kept] = getattr(self, "_resource_memo", {})
        kept: dict[int, _Kept] = {}
        data: list[dict[str, Any]] = []
        now = time.time()
        # fakepve's allowed() lets everyone see everything until the first grant, and root@pam always.
        audited = self.acl is not None and user.split("!")[0] != "root@pam"
        for guests, state, build, is_vm in (
            (self.vms, _vm_state, self._vm_resource, True),
            (self.cts, _ct_state, self._ct_resource, False),
        ):
            for guest in guests:
                if audited and not self.allowed(user, f"/vms/{guest.vmid}", "VM.Audit"):
                    continue
                online = self.nodes.get(guest.node, {}).get("online", True)
                current = state(guest, online)
                memo = before.get(id(guest))
                if memo is None or not memo.holds(guest, current):
                    memo = _Kept(guest, current, build(guest, online))
                kept[id(guest)] = memo
                item = memo.item
                # The clock moves between answers; a VM's recorded stats, when they carry it, win as in fakepve.
                if not (is_vm and "uptime" in guest.stats):
                    item["uptime"] = _seconds_up(guest, now)
                data.append(item)
        self._resource_memo = kept
        return data

    def _vm_resource(self, vm: Any, online: bool) -> dict[str, Any]:
        """A VM's entry, as fakepve's _resources writes it."""
        item = {
            "id": vm.guest,
            "type": "qemu",
            "node": vm.node,
            "name": vm.name,
            "vmid": vm.vmid,
            "status": vm.status if online else "unknown",
            "template": 1 if vm.template else 0,
        }
        item.update(self._vm_usage(vm))
        if vm.config.get("tags"):
            item["tags"] = vm.config["tags"]
        if vm.lock:
            item["lock"] = vm.lock
        if vm.pool:
            item["pool"] = vm.pool
        if vm.ha_managed:
            item["hastate"] = vm.ha_state
        return item

    def _ct_resource(self, ct: Any, online: bool) -> dict[str, Any]:
        """A container's entry, as fakepve's ct_resources writes it."""
        item = {
            "id": ct.guest,
            "type": "lxc",
            "node": ct.node,
            "name": ct.name,
            "vmid": ct.vmid,
            "status": ct.status if online else "unknown",
            "template": 1 if ct.template else 0,
            "maxcpu": self._cpus(ct),
            "maxmem": self._maxmem(ct),
            "maxdisk": self._maxdisk(ct),
            "cpu": 0,
            "mem": 0,
            "disk": 0,
            "uptime": self._uptime(ct),
            "netin": 0,
            "netout": 0,
            "diskread": 0,
            "diskwrite": 0,
        }
        if ct.lock:
            item["lock"] = ct.lock
        if ct.pool:
            item["pool"] = ct.pool
        if ct.config.get("tags"):
            item["tags"] = ct.config["tags"]
        if ct.ha_managed:
            item["hastate"] = ct.ha_state
        return item

    def _node_resources(self) -> list[dict[str, Any]]:
        """Each node's entry, an online one with its own usage."""
        usage = self._node_usages()
        data = []
        for name, state in sorted(self.nodes.items()):
            online = state.get("online", True)
            item = {
                "id": "node/" + name,
                "type": "node",
                "node": name,
                "status": "online" if online else "offline",
            }
            item.update(level="", **self._node_stats(online))
            if online:
                item.update((k, usage[name][k]) for k in FIELDS)
            data.append(item)
        return data

    def _storage_resources(self) -> list[dict[str, Any]]:
        """Each node's storages, each storage's volumes summed once for the answer."""
        self.space_memo = {}
        try:
            items = (
                self._storage_resource(node, name) for node in sorted(self.nodes) for name in self.storages
            )
            return [item for item in items if item]
        finally:
            self.space_memo = None


def _seconds_up(guest: Any, now: float) -> int:
    """Seconds since a running guest started (fakepve's _vm_usage and _uptime), read anew on every answer."""
    return int(now - guest.started_at) if guest.status == "running" and guest.started_at else 0
