"""Who holds an address: what the IP index (app/services/ips) answers, read fresh for the purpose. The pipeline
hands it to a preflight as an `AddressBook`, so the catalogue stays free of the services above it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Holder:
    """A guest that has an address (in its config, or as its running system reports it), or a host outside
    Proxmox that answered for it."""

    address: str
    vmid: int
    name: str
    status: str
    # How something outside Proxmox showed it holds the address ('answered a ping ...'); vmid is 0 then.
    outside: str = ""

    @property
    def text(self) -> str:
        """'214 (web-3, running)', or 'something outside Proxmox (it answered a ping ...)'."""
        if self.outside:
            return f"something outside Proxmox (it {self.outside})"
        return f"{self.vmid} ({self.name}, {self.status})" if self.name else f"{self.vmid} ({self.status})"


class AddressBook(Protocol):
    """Who holds addresses now: the IP index, the guests that could hold them read again first."""

    async def holders(self, addresses: Sequence[str]) -> list[Holder]:
        """The guests holding any of the addresses (each with its prefix length: '10.0.20.15/24')."""
        ...

    def forget(self, vmid: int) -> None:
        """Drop what is known of a guest's addresses (a new guest took its VMID, or it changed)."""
        ...


def reuse_message(holders: Sequence[Holder]) -> str:
    """'10.0.20.15 is used by 214 (web-3, running)'; addresses the same guests hold are named together."""
    by_address: dict[str, list[str]] = {}
    for holder in holders:
        by_address.setdefault(holder.address, []).append(holder.text)
    by_guests: dict[tuple[str, ...], list[str]] = {}
    for address, who in by_address.items():
        by_guests.setdefault(tuple(who), []).append(address)
    return "; ".join(
        f"{' and '.join(addresses)} {'is' if len(addresses) == 1 else 'are'} used by {' and '.join(who)}"
        for who, addresses in by_guests.items()
    )
