"""POST /nodes/{node}/lxc/{vmid}/template answers null, as PVE does (fakepve answers the worker's UPID)."""

from __future__ import annotations

from typing import Any

from pvesim.base import DemoBase


class CtTemplateMixin(DemoBase):
    """Mixin of DemoPve: the 'vztemplate' worker still runs and is listed, but its UPID is not returned."""

    async def _lxc_template(self, user: str, v: dict[str, Any]) -> None:
        # pve-container's API method returns undef after forking the worker: clients must find the task.
        await super()._lxc_template(user, v)
        return None
