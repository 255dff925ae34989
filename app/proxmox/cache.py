"""A short-lived cached value whose concurrent callers share one in-flight fetch (single-flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """A value cached for ttl seconds; callers that miss while a fetch is running await that same fetch.

    A failed fetch is shared by the callers waiting on it and not cached: the next caller starts a new one.
    A caller that is cancelled does not cancel the fetch the others wait for.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._value: T | None = None
        self._expires = float("-inf")
        self._inflight: asyncio.Task[T] | None = None
        # Bumped by invalidate(), so a fetch started before it cannot store its (stale) value.
        self._generation = 0
        self.fetches = 0

    def peek(self) -> T | None:
        """The cached value while it is fresh, else None."""
        if self._value is not None and self._clock() < self._expires:
            return self._value
        return None

    async def get(
        self, fetch: Callable[[], Awaitable[T]], on_lookup: Callable[[bool], None] | None = None
    ) -> T:
        """The cached value, or the running fetch's, or a new fetch's.

        on_lookup(hit) is called before waiting; hit is False only when this call started the fetch.
        """
        value = self.peek()
        if value is not None:
            if on_lookup:
                on_lookup(True)
            return value
        task, started = self._inflight, False
        if task is None:
            task = asyncio.ensure_future(fetch())
            task.add_done_callback(self._settle_callback(self._generation))
            self._inflight, started = task, True
        if on_lookup:
            on_lookup(not started)
        return await asyncio.shield(task)

    def _settle_callback(self, generation: int) -> Callable[[asyncio.Task[T]], None]:
        def settle(task: asyncio.Task[T]) -> None:
            if self._inflight is task:
                self._inflight = None
            # exception() also marks a failure as retrieved when every waiter was cancelled.
            if task.cancelled() or task.exception() is not None or generation != self._generation:
                return
            self._value = task.result()
            self._expires = self._clock() + self._ttl
            self.fetches += 1

        return settle

    def invalidate(self) -> None:
        """Forget the value; the next caller fetches anew, even if a fetch is running now."""
        self._value = None
        self._expires = float("-inf")
        self._generation += 1
        self._inflight = None

    def cancel(self) -> None:
        """Cancel a running fetch (when the client closes)."""
        task, self._inflight = self._inflight, None
        if task is not None:
            task.cancel()
