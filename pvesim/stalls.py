"""A fault fakepve lacks: answer one kind of request late, as a node that goes away mid-request does."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from pvesim.base import DemoBase


class StallMixin(DemoBase):
    """pve.stall('POST', '/status/start', 5): such requests are handled only after 5 real seconds.
    pve.answer_late('POST', '/clone', 5): handled at once, answered 5 real seconds later."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stalls: dict[tuple[str, str], float] = {}
        self.late_answers: dict[tuple[str, str], float] = {}

    def stall(self, method: str, suffix: str, seconds: float) -> None:
        """Delay answers to requests whose path ends with suffix; the request still takes effect afterwards."""
        self.stalls[(method.upper(), suffix)] = seconds

    def answer_late(self, method: str, suffix: str, seconds: float) -> None:
        """Carry out requests whose path ends with suffix at once, but answer only after `seconds`."""
        self.late_answers[(method.upper(), suffix)] = seconds

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        for (method, suffix), seconds in list(self.stalls.items()):
            if request.method == method and request.path.endswith(suffix):
                await asyncio.sleep(seconds)
        response: web.StreamResponse = await super()._middleware(request, handler)
        for (method, suffix), seconds in list(self.late_answers.items()):
            if request.method == method and request.path.endswith(suffix):
                await asyncio.sleep(seconds)
        return response
