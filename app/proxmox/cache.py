"""A short-lived cached value whose concurrent callers share one in-flight fetch (single-flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight", "SingleFlightMap"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
# A time to live: seconds, or seconds for the value just fetched (a series is fresh for one of its steps).
Ttl = float | Callable[[T], float]
# A fetch that takes this long is slow enough for callers that allow it to be given the previous value instead.
SLOW_FETCH = 1.0
# A view whose fetch takes this long (a few thousand guests and more) is kept after a change while one fetch replaces it;
# a quicker one is simply fetched again, and callers wait for it.
SLOW_TO_REPLACE = 0.1


class SingleFlight(Generic[T]):
    """A value cached for ttl seconds; callers that miss while a fetch is running await that same fetch.

    A failed fetch is shared by the callers waiting on it and not cached: the next caller starts a new one.
    A caller that is cancelled does not cancel the fetch the others wait for.

    With refresh_ahead, a caller that finds the value with less life left than the last fetch took starts the
    next fetch in the background: under steady use the new value lands as the old one expires, so callers do not
    queue behind a refresh, and fetches still come about once per ttl. When that refresh is late (the upstream
    slower than last time), callers keep the old value until it lands, for at most one more ttl, rather than
    queueing behind it; invalidate() ends that (callers then wait for the new value).
    expire() says a change was made: a quick view is fetched again (invalidate()); a slow one (SLOW_TO_REPLACE:
    thousands of guests) lives out its ttl, as any view may, rather than every change costing another read.
    """

    def __init__(
        self, ttl: Ttl[T], clock: Callable[[], float] = time.monotonic, *, refresh_ahead: bool = False
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._refresh_ahead = refresh_ahead
        self._value: T | None = None
        self._expires = float("-inf")
        self._inflight: asyncio.Task[T] | None = None
        self._ahead = False  # whether the running fetch was started while the value was still fresh
        self._grace = 0.0  # how long after expiry the value may still be served while that fetch is late
        # Bumped by invalidate(), so a fetch started before it cannot store its (stale) value.
        self._generation = 0
        self._failed = False  # whether the last fetch failed: then nobody is given an expired value
        self.fetches = 0
        self.fetch_seconds = 0.0  # how long the last successful fetch took

    @property
    def fetching(self) -> bool:
        """True while a fetch runs that callers may be waiting for."""
        return self._inflight is not None

    @property
    def idle(self) -> bool:
        """True when it holds no fresh value and no fetch is running: nothing is lost by dropping it."""
        return not self.fetching and self.peek() is None

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
        keep_for: float = 0.0,
    ) -> T:
        """The cached value, or the running fetch's, or a new fetch's.

        When fetches are slow (SLOW_FETCH or more), a value expired less than stale_for seconds ago is returned
        at once while a new fetch replaces it in the background; with keep_for, already when fetches take
        SLOW_TO_REPLACE (for a page that shows the value's age). on_lookup(hit) is called before waiting; hit is False only when this
        call started the fetch.
        """
        value = self.peek()
        if value is None and (self._stale_allowed(stale_for) or self._kept(keep_for)):
            self._start(fetch)
            value = self._value
        if value is None and self._late_refresh():
            value = self._value
        if value is not None:
            refresh_due = self._expires - self._clock() < self.fetch_seconds
            if self._refresh_ahead and refresh_due and self._inflight is None:
                self._start(fetch)
                self._ahead = True  # the value was still fresh (an expired one comes with a fetch running)
            if on_lookup:
                on_lookup(True)
            return value
        task, started = self._start(fetch)
        if on_lookup:
            on_lookup(not started)
        return await asyncio.shield(task)

    async def newer_than(self, seen: T, fetch: Callable[[], Awaitable[T]]) -> T:
        """A value read after `seen` was: the one that replaced it, the fetch running now (any fetch running
        once `seen` was stored began after it), or a new one; callers that all found `seen` lacking share one."""
        if self._value is not None and self._value is not seen:
            return self._value
        task, _ = self._start(fetch)
        return await asyncio.shield(task)

    def _late_refresh(self) -> bool:
        """True while a fetch started ahead of expiry runs and the value expired less than one ttl ago."""
        late = self._clock() - self._expires
        return self._ahead and self._inflight is not None and self._value is not None and late < self._grace

    def _stale_allowed(self, stale_for: float) -> bool:
        expired_for = self._clock() - self._expires
        return self._value is not None and self.fetch_seconds >= SLOW_FETCH and expired_for < stale_for

    def _kept(self, keep_for: float) -> bool:
        # A quick fetch is simply waited for; a failed one means the value's age is no longer the whole story.
        slow = self.fetch_seconds >= SLOW_TO_REPLACE
        expired_for = self._clock() - self._expires
        return self._value is not None and slow and not self._failed and expired_for < keep_for

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
                self._ahead = False
            # exception() also marks a failure as retrieved when every waiter was cancelled.
            failed = not task.cancelled() and task.exception() is not None
            if task.cancelled() or generation != self._generation:
                return
            self._failed = failed
            if failed:
                return
            self._value = task.result()
            ttl = self._ttl(self._value) if callable(self._ttl) else self._ttl
            self._expires = self._clock() + ttl
            self._grace = ttl
            self.fetches += 1
            self.fetch_seconds = self._clock() - started

        return settle

    def expire(self, slow: float = SLOW_TO_REPLACE) -> None:
        """A change was made: a view quicker to fetch than `slow` seconds is forgotten (invalidate()); a slower
        one lives out its ttl."""
        if self._value is None or self.fetch_seconds < slow:
            self.invalidate()

    def invalidate(self) -> None:
        """Forget the value; the next caller fetches anew, even if a fetch is running now."""
        self._value = None
        self._expires = float("-inf")
        self._generation += 1
        self._inflight = None
        self._ahead = False

    def cancel(self) -> None:
        """Cancel a running fetch (when the client closes)."""
        task, self._inflight = self._inflight, None
        self._ahead = False
        if task is not None:
            task.cancel()


class SingleFlightMap(Generic[K, T]):
    """A SingleFlight per key (one per chart and timeframe, say), keeping at most `limit` of them.

    When full, stale entries go first, then the oldest ones that no caller is waiting for.
    """

    def __init__(self, ttl: Ttl[T], limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._limit = limit
        self._clock = clock
        self._flights: dict[K, SingleFlight[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def get(
        self, key: K, fetch: Callable[[], Awaitable[T]], on_lookup: Callable[[bool], None] | None = None
    ) -> T:
        """The key's cached value, or its running fetch's, or a new fetch's (see SingleFlight.get)."""
        flight = self._flights.get(key)
        if flight is None:
            if len(self._flights) >= self._limit:
                self._prune()
            flight = self._flights[key] = SingleFlight(self._ttl, self._clock)
        return await flight.get(fetch, on_lookup)

    def _prune(self) -> None:
        for key in [k for k, f in self._flights.items() if f.idle]:
            del self._flights[key]
        for key in list(self._flights):  # oldest first: dicts keep insertion order
            if len(self._flights) < self._limit:
                return
            if not self._flights[key].fetching:
                del self._flights[key]

    def cancel(self) -> None:
        """Cancel every running fetch (when the client closes)."""
        for flight in self._flights.values():
            flight.cancel()
