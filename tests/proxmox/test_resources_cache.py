"""The /cluster/resources cache: single-flight, TTL, failures not cached, and locate()."""

from __future__ import annotations

import asyncio

import pytest
from fakepve import FakePve

from app.proxmox import GuestLocation, PveClient, PveError, PveNotFound
from app.proxmox.cache import SingleFlight
from tests.proxmox.conftest import FakeClock, RecordingObserver


def fetched(pve: FakePve) -> int:
    """/cluster/resources requests the fake saw."""
    return sum(1 for m, path, _ in pve.requests if m == "GET" and path.endswith("/cluster/resources"))


async def test_100_concurrent_callers_share_one_request(
    client: PveClient, pve: FakePve, observer: RecordingObserver
) -> None:
    pve.time_scale = 1.0
    pve.slow_network(0.05)
    results = await asyncio.gather(*(client.cluster_resources() for _ in range(100)))
    assert fetched(pve) == 1
    assert all(r is results[0] for r in results)
    assert observer.lookups.count(("cluster_resources", False)) == 1
    assert observer.lookups.count(("cluster_resources", True)) == 99
    assert observer.requests == [("GET", "/cluster/resources", "200")]


async def test_ttl_expiry_fetches_again(client: PveClient, pve: FakePve, clock: FakeClock) -> None:
    first = await client.cluster_resources()
    clock.now += client.connection.resources_ttl - 0.1
    assert await client.cluster_resources() is first
    clock.now += 0.2
    assert await client.cluster_resources() is not first
    assert fetched(pve) == 2


async def test_a_failure_is_shared_and_not_cached(client: PveClient, pve: FakePve) -> None:
    pve.fail("GET", "/cluster/resources", 500, "cluster filesystem not ready", times=1)
    outcomes = await asyncio.gather(*(client.cluster_resources() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(o, PveError) and o.message == "cluster filesystem not ready" for o in outcomes)
    assert fetched(pve) == 1
    assert len((await client.cluster_resources()).guests) == 3
    assert fetched(pve) == 2


async def test_failed_fetch_still_counts_the_lookup(
    client: PveClient, pve: FakePve, observer: RecordingObserver
) -> None:
    pve.fail("GET", "/cluster/resources", 403, "Permission check failed (/, Sys.Audit)", times=1)
    with pytest.raises(PveError):
        await client.cluster_resources()
    assert observer.lookups == [("cluster_resources", False)]


async def test_invalidate_forces_a_fetch(client: PveClient, pve: FakePve) -> None:
    await client.cluster_resources()
    client.invalidate_resources()
    await client.cluster_resources()
    assert fetched(pve) == 2


async def test_locate_from_the_index(client: PveClient, pve: FakePve) -> None:
    assert await client.locate(200) == GuestLocation("pve1", "lxc")
    assert await client.locate(101) == GuestLocation("pve2", "qemu")
    assert fetched(pve) == 1


async def test_locate_refreshes_once_on_a_miss(client: PveClient, pve: FakePve) -> None:
    await client.cluster_resources()
    pve.add_vm(300, "new01", node="pve2")
    assert await client.locate(300) == GuestLocation("pve2", "qemu")
    assert fetched(pve) == 2
    with pytest.raises(PveNotFound) as caught:
        await client.locate(123)
    assert str(caught.value) == "VM 123 does not exist"
    assert fetched(pve) == 2, "Proxmox says 123 is free: the view is not read again"


def asked_nextid(pve: FakePve) -> int:
    """GET /cluster/nextid requests the fake saw."""
    return sum(1 for m, path, _ in pve.requests if m == "GET" and path.endswith("/cluster/nextid"))


async def test_a_vmid_nobody_holds_never_rereads_the_view(client: PveClient, pve: FakePve) -> None:
    await client.cluster_resources()
    for _ in range(5):
        with pytest.raises(PveNotFound):
            await client.locate(987)
    assert fetched(pve) == 1
    assert asked_nextid(pve) == 5


async def test_callers_missing_a_new_guest_share_one_new_read(client: PveClient, pve: FakePve) -> None:
    await client.cluster_resources()
    pve.add_vm(301, "new02", node="pve1")
    pve.time_scale = 1.0
    pve.slow_network(0.05)
    found = await asyncio.gather(*(client.locate(301) for _ in range(20)))
    assert set(found) == {GuestLocation("pve1", "qemu")}
    assert fetched(pve) == 2


async def test_locate_on_a_cold_index_fetches_once(client: PveClient, pve: FakePve) -> None:
    with pytest.raises(PveNotFound):
        await client.locate(123)
    assert fetched(pve) == 1


async def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    release = asyncio.Event()
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "value"

    cache: SingleFlight[str] = SingleFlight(ttl=10)
    first = asyncio.ensure_future(cache.get(fetch))
    second = asyncio.ensure_future(cache.get(fetch))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "value"
    assert first.cancelled() and calls == 1
    hits: list[bool] = []
    assert await cache.get(fetch, hits.append) == "value"
    assert hits == [True]


async def test_a_slow_fetch_lets_callers_have_the_previous_value_while_the_next_runs() -> None:
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=3, clock=lambda: now[0])
    release = asyncio.Event()

    async def slow(value: str) -> str:
        now[0] += 2  # the fetch takes two (fake) seconds
        await release.wait()
        return value

    release.set()
    assert await cache.get(lambda: slow("first")) == "first"
    now[0] += 10
    release.clear()
    assert await cache.get(lambda: slow("second"), stale_for=60) == "first", "answered at once"
    assert await cache.get(lambda: slow("third"), stale_for=60) == "first", "one fetch runs"
    release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await cache.get(lambda: slow("fourth"), stale_for=60) == "second"
    now[0] += 100
    release.clear()
    waiting = asyncio.ensure_future(cache.get(lambda: slow("fifth"), stale_for=60))
    await asyncio.sleep(0)
    assert not waiting.done(), "a value expired longer ago than stale_for is waited for"
    release.set()
    assert await waiting == "fifth"


async def test_a_quick_fetch_is_waited_for_even_when_stale_values_are_allowed() -> None:
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=3, clock=lambda: now[0])

    async def quick(value: str) -> str:
        return value

    assert await cache.get(lambda: quick("first")) == "first"
    now[0] += 10
    assert await cache.get(lambda: quick("second"), stale_for=60) == "second"


async def test_refresh_ahead_fetches_the_next_value_before_the_last_one_expires() -> None:
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=3, clock=lambda: now[0], refresh_ahead=True)
    release = asyncio.Event()
    calls: list[str] = []
    took = [1.0]  # (fake) seconds a fetch takes

    async def fetch(value: str) -> str:
        calls.append(value)
        now[0] += took[0]
        await release.wait()
        return value

    release.set()
    assert await cache.get(lambda: fetch("first")) == "first"  # fetched in 0..1: fresh until 4
    took[0] = 0.0
    release.clear()
    now[0] = 2.5
    assert await cache.get(lambda: fetch("early")) == "first"
    await asyncio.sleep(0)
    assert calls == ["first"], "more than a fetch's time left: nothing starts"
    now[0] = 3.2
    assert await cache.get(lambda: fetch("second")) == "first", "answered at once while the next is fetched"
    await asyncio.sleep(0)
    assert await cache.get(lambda: fetch("third")) == "first"
    await asyncio.sleep(0)
    assert calls == ["first", "second"], "one fetch runs"
    release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    now[0] = 5.0  # the first value has expired; the second (fresh until 6.2) is served without a wait
    assert await cache.get(lambda: fetch("fourth")) == "second"
    assert calls == ["first", "second"]


async def test_a_late_refresh_ahead_keeps_the_old_value_for_one_more_ttl_and_invalidate_ends_that() -> None:
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=3, clock=lambda: now[0], refresh_ahead=True)
    release = asyncio.Event()
    calls: list[str] = []

    async def fetch(value: str) -> str:
        calls.append(value)
        await release.wait()
        return value

    async def quick(value: str) -> str:
        calls.append(value)
        return value

    assert await cache.get(lambda: quick("first")) == "first"  # fresh until 3
    cache.fetch_seconds = 0.5
    now[0] = 2.8
    assert await cache.get(lambda: fetch("second")) == "first"  # starts the next one ahead of expiry
    now[0] = 4.0  # expired, and the refresh has not landed: the old value still answers at once
    answer = asyncio.ensure_future(cache.get(lambda: fetch("other")))
    await asyncio.sleep(0)
    assert answer.done() and answer.result() == "first"
    now[0] = 6.5  # more than a ttl late: callers wait for the refresh
    waiting = asyncio.ensure_future(cache.get(lambda: fetch("other")))
    await asyncio.sleep(0)
    assert not waiting.done()
    release.set()
    assert await waiting == "second"
    assert calls == ["first", "second"]

    release.clear()
    now[0] = 9.4  # 0.1 s of life left: the next refresh starts ahead
    assert await cache.get(lambda: fetch("third")) == "second"
    cache.invalidate()  # something changed: nobody may be given the old value now
    now[0] = 9.6
    waiting = asyncio.ensure_future(cache.get(lambda: quick("fourth")))
    assert await waiting == "fourth"
    release.set()


async def test_changes_to_a_slow_view_let_it_live_out_its_ttl_instead_of_each_costing_a_read() -> None:
    """At thousands of guests a read of the view is slow: ten changes start no read; the view is read again
    when its ttl ends, as without them."""
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=3, clock=lambda: now[0])
    started: list[str] = []

    async def slow(value: str) -> str:
        started.append(value)
        now[0] += 0.5  # half a (fake) second per read: slow
        return value

    assert await cache.get(lambda: slow("first")) == "first"
    for _ in range(10):
        cache.expire()
        assert await cache.get(lambda: slow("another")) == "first"
    assert started == ["first"]
    now[0] += 3
    assert await cache.get(lambda: slow("second")) == "second"
    assert started == ["first", "second"]


async def test_a_change_to_a_quick_view_is_waited_for_as_invalidate_does() -> None:
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=3, clock=lambda: now[0])

    async def quick(value: str) -> str:
        return value

    assert await cache.get(lambda: quick("first")) == "first"
    cache.expire()
    assert await cache.get(lambda: quick("second")) == "second"


async def test_keep_for_answers_a_slow_view_at_once_until_a_read_fails() -> None:
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=3, clock=lambda: now[0])
    outcome: list[str | Exception] = []

    async def read() -> str:
        now[0] += 0.5  # a read of many guests takes half a (fake) second
        await asyncio.sleep(0)
        answer = outcome.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    down = PveError("cluster filesystem not ready")
    outcome[:] = ["first", down, down, "fourth"]
    assert await cache.get(read) == "first"
    now[0] += 10
    assert await cache.get(read, keep_for=60) == "first", "expired, but shown while the next read runs"
    await asyncio.sleep(0.01)  # that read fails
    with pytest.raises(PveError):
        await cache.get(read, keep_for=60)  # waits for a read of its own, which says what is wrong
    assert await cache.get(read, keep_for=60) == "fourth"


async def test_keep_for_waits_for_a_quick_view() -> None:
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=3, clock=lambda: now[0])
    answers = iter(["first", "second"])

    async def read() -> str:
        return next(answers)

    assert await cache.get(read) == "first"
    now[0] += 10
    assert await cache.get(read, keep_for=60) == "second"


async def test_a_change_keeps_a_value_slower_to_fetch_than_the_callers_bound() -> None:
    now = [0.0]
    cache: SingleFlight[str] = SingleFlight(ttl=30, clock=lambda: now[0])
    answers = iter(["scan", "scan again"])

    async def half_a_second() -> str:
        now[0] += 0.5
        return next(answers)

    assert await cache.get(half_a_second) == "scan"
    cache.expire(slow=1.0)  # half a second is quick for this caller: read again
    assert await cache.get(half_a_second) == "scan again"
    cache.expire()  # and slow for the default bound: kept for its ttl
    assert cache.peek() == "scan again"
