"""O(1) guest lookups: fakepve scans pve.vms and pve.cts for each vmid, quadratic at 10,000 guests."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, SupportsIndex

from pvesim.base import DemoBase


class GuestList(list[Any]):
    """A list of guests that also indexes them by vmid; fakepve only appends, removes and iterates."""

    def __init__(self, guests: Iterable[Any] = ()) -> None:
        super().__init__()
        self._by_vmid: dict[Any, list[Any]] = {}
        self.extend(guests)

    def first(self, vmid: Any) -> Any:
        """The first guest in list order with this vmid, or None (what fakepve's linear scans return)."""
        found = self._by_vmid.get(vmid)
        return found[0] if found else None

    def append(self, guest: Any) -> None:
        super().append(guest)
        self._by_vmid.setdefault(guest.vmid, []).append(guest)
        # When the guest appeared: its history (pvesim/rrd.py) starts there, unless the seed backdates it.
        if getattr(guest, "born", None) is None:
            guest.born = time.time()

    def extend(self, guests: Iterable[Any]) -> None:
        for guest in guests:
            self.append(guest)

    def __iadd__(self, guests: Iterable[Any]) -> GuestList:  # type: ignore[misc]
        self.extend(guests)
        return self

    def remove(self, guest: Any) -> None:
        super().remove(guest)
        self._reindex()

    def __contains__(self, guest: object) -> bool:
        return any(other is guest for other in self._by_vmid.get(getattr(guest, "vmid", None), ()))

    def insert(self, index: SupportsIndex, guest: Any) -> None:
        super().insert(index, guest)
        self._reindex()

    def pop(self, index: SupportsIndex = -1) -> Any:
        guest = super().pop(index)
        self._reindex()
        return guest

    def clear(self) -> None:
        super().clear()
        self._by_vmid = {}

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._reindex()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._reindex()

    def _reindex(self) -> None:
        self._by_vmid = {}
        for guest in self:
            self._by_vmid.setdefault(guest.vmid, []).append(guest)


class GuestIndex(DemoBase):
    """Mixin of DemoPve: pve.vms and pve.cts are GuestLists, whatever is assigned to them."""

    @property
    def vms(self) -> GuestList:
        """The VMs (FakeVm)."""
        return self._demo_vms

    @vms.setter
    def vms(self, guests: Iterable[Any]) -> None:
        self._demo_vms = GuestList(guests)

    @property
    def cts(self) -> GuestList:
        """The containers (FakeCt)."""
        return self._demo_cts

    @cts.setter
    def cts(self, guests: Iterable[Any]) -> None:
        self._demo_cts = GuestList(guests)

    def vm(self, vmid: Any) -> Any:
        """The VM with this id, or None."""
        return self.vms.first(vmid)

    def ct(self, vmid: Any) -> Any:
        """The container with this id, or None."""
        return self.cts.first(vmid)

    def _guest_of(self, vmid: Any) -> Any:
        return self.vm(vmid) or self.ct(vmid)
