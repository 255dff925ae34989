"""Fixtures of the operation tests: an in-memory Proxmox fed with recorded answers, and a Context on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from app.operations.base import Context, Guest
from app.proxmox import PveClient
from tests.operations.memory_pve import MemoryPve

# What the `context` fixture is: Context(client, guest) for a guest, or None for cluster-wide operations.
Ctx = Callable[[Guest | None], Context]


@pytest.fixture
def proxmox() -> MemoryPve:
    """The in-memory Proxmox: route answers on it, then assert what it was sent."""
    return MemoryPve()


@pytest.fixture
async def pve(proxmox: MemoryPve) -> AsyncIterator[PveClient]:
    """A PveClient talking to the in-memory Proxmox; a request no test routed fails the test."""
    async with proxmox.client() as client:
        yield client
    assert not proxmox.unrouted, f"requests nobody expected: {proxmox.unrouted}"


@pytest.fixture
def context(pve: PveClient) -> Ctx:
    """Context(client, guest) for a preflight, preview or call."""
    return lambda guest: Context(pve, guest)
