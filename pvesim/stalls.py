"""A fault fakepve lacks: answer one kind of request late, as a node that goes away mid-request does."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from pvesim.base import DemoBase


class StallMixin(DemoBase):
    """pve.stall('POST', '/status/start', 5): such requests are answered only after 5 real seconds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stalls: dict[tuple[str, str], float] = {}

    def stall(self, method: str, suffix: str, seconds: float) -> None:
        """Delay answers to requests whose path ends with suffix; the request still takes effect afterwards."""
        self.stalls[(method.upper(), suffix)] = seconds

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        for (method, suffix), seconds in list(self.stalls.items()):
            if request.method == method and request.path.endswith(suffix):
                await asyncio.sleep(seconds)
        response: web.StreamResponse = await super()._middleware(request, handler)
        return response
