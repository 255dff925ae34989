"""Helpers for the IP inventory tests: guests added in vmids 9200-9299, the requests the fake saw, an app that
starts cold."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from app.config import Settings
from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake
from tests.servers import AppServer

T = TypeVar("T")

VMIDS = range(9200, 9300)


class Guests:
    """Adds guests to the shared fake (vmids 9200-9299 only) and removes them on exit."""

    def __init__(self, pve: DemoPve) -> None:
        self.pve = pve
        self.added: list[Any] = []

    def __enter__(self) -> Guests:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for guest in self.added:
            (self.pve.vms if guest in self.pve.vms else self.pve.cts).remove(guest)

    def vm(
        self,
        vmid: int,
        name: str,
        ipconfig0: str | None = None,
        *,
        node: str = "pve1",
        status: str = "stopped",
    ) -> Any:
        """A VM with a NIC and, when given, a cloud-init address."""
        assert vmid in VMIDS
        config: dict[str, Any] = {"net0": f"virtio=BC:24:11:92:{vmid % 100:02d}:01,bridge=vmbr0"}
        if ipconfig0 is not None:
            config["ipconfig0"] = ipconfig0
        vm = self.pve.add_vm(vmid, name, node=node, status=status, config=config)
        self.added.append(vm)
        return vm

    def ct(self, vmid: int, hostname: str, net0: str, *, node: str = "pve1", status: str = "stopped") -> Any:
        """A container with this net0."""
        assert vmid in VMIDS
        ct = self.pve.add_ct(
            vmid, hostname, node=node, status=status, config={"hostname": hostname, "net0": net0}
        )
        self.added.append(ct)
        return ct


class Requests:
    """The requests the fake records from now on (robust to its dropping the oldest beyond max_requests)."""

    def __init__(self, pve: DemoPve) -> None:
        self.pve = pve
        self.mark = pve.requests[-1] if pve.requests else None

    def since(self) -> list[tuple[str, str, Any]]:
        """(method, path, body) of each request after the mark."""
        seen = self.pve.requests
        for index in range(len(seen) - 1, -1, -1):
            if seen[index] is self.mark:
                return list(seen[index + 1 :])
        return list(seen)


def agent_down_vm(pve: DemoPve) -> Any:
    """A running VM whose config enables the agent, which does not run inside it."""
    return next(
        v
        for v in pve.vms
        if v.status == "running" and "agent" in v.config and v.agent is None and not v.template
    )


@contextmanager
def cold_app(
    served: ServedFake, database_url: str, data_dir: Path, wait: float = 0.0
) -> Iterator[tuple[AppServer, Settings]]:
    """The app on its own (new) database, whose answers wait `wait` seconds for guests never read (and for the
    stored index to load)."""
    settings = app_settings(served, database_url, data_dir, ips_wait=wait)
    server = AppServer(settings)
    try:
        yield server, settings
    finally:
        server.stop()


def eventually(check: Callable[[], T], seconds: float = 30.0) -> T:
    """check()'s first true answer, asked every 0.2 s; AssertionError when none comes in time."""
    deadline = time.monotonic() + seconds
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"still {answer!r} after {seconds} s")
        time.sleep(0.2)
