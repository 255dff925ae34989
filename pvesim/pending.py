"""GET .../pending as PVE answers it: every plain key of the config file, its digest included
(GuestHelpers::config_with_pending_array walks the loaded config, which carries the digest); fakepve leaves it out."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pvesim.base import DemoBase


def _with_digest(items: list[dict[str, Any]], digest: str) -> list[dict[str, Any]]:
    """The items and the file's digest, in fakepve's order (by key)."""
    return sorted([*items, {"key": "digest", "value": digest}], key=lambda item: str(item["key"]))


class PendingDigestMixin(DemoBase):
    """The digest in a VM's and a container's /pending, the same as their /config shows."""

    async def _pending(self, request: web.Request) -> web.Response:
        """GET /nodes/{node}/qemu/{vmid}/pending."""
        response: web.Response = await super()._pending(request)
        if response.text is None:
            return response
        vm = self._vm(request, "VM.Audit")
        return web.json_response(
            {"data": _with_digest(json.loads(response.text)["data"], self.qm_digest(vm))}
        )

    async def _lxc_pending(self, user: str, v: dict[str, Any]) -> list[dict[str, Any]]:
        """GET /nodes/{node}/lxc/{vmid}/pending."""
        items: list[dict[str, Any]] = await super()._lxc_pending(user, v)
        return _with_digest(items, self._find_ct(v["node"], v["vmid"]).digest())
