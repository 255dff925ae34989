"""A short-lived cached value whose concurrent callers share one in-flight fetch (single-flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")
# A fetch that takes this long is slow enough for callers that allow it to be given the previous value instead.
SLOW_FETCH = 1.0


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
        self.fetch_seconds = 0.0  # how long the last successful fetch took

    def peek(self) -> T | None:
        """The cached value while it is fresh, else None."""
        if self._value is not None and self._clock() < self._expires:
            return self._value
        return None

    async def get(
        self,
        fetch: Callable[[], Awaitable[T]],
        on_lookup: Callable[[bool], None] | None = None,
        *,
        stale_for: float = 0.0,
    ) -> T:
        """The cached value, or the running fetch's, or a new fetch's.

        When fetches are slow (SLOW_FETCH or more), a value expired less than stale_for seconds ago is returned
        at once while a new fetch replaces it in the background. on_lookup(hit) is called before waiting; hit is
        False only when this call started the fetch.
        """
        value = self.peek()
        if value is None and self._stale_allowed(stale_for):
            self._start(fetch)
            value = self._value
        if value is not None:
            if on_lookup:
                on_lookup(True)
            return value
        task, started = self._start(fetch)
        if on_lookup:
            on_lookup(not started)
        return await asyncio.shield(task)

    def _stale_allowed(self, stale_for: float) -> bool:
        expired_for = self._clock() - self._expires
        return self._value is not None and self.fetch_seconds >= SLOW_FETCH and expired_for < stale_for

    def _start(self, fetch: Callable[[], Awaitable[T]]) -> tuple[asyncio.Future[T], bool]:
        """The running fetch, or a new one: (its future, whether this call started it)."""
        if self._inflight is not None:
            return self._inflight, False
        task = asyncio.ensure_future(fetch())
        task.add_done_callback(self._settle_callback(self._generation, self._clock()))
        self._inflight = task
        return task, True

    def _settle_callback(self, generation: int, started: float) -> Callable[[asyncio.Task[T]], None]:
        def settle(task: asyncio.Task[T]) -> None:
            if self._inflight is task:
                self._inflight = None
            # exception() also marks a failure as retrieved when every waiter was cancelled.
            if task.cancelled() or task.exception() is not None or generation != self._generation:
                return
            self._value = task.result()
            self._expires = self._clock() + self._ttl
            self.fetches += 1
            self.fetch_seconds = self._clock() - started

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
