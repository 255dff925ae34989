"""What an inventory query is about: the guests its filters keep, and the notes that concern them.

At thousands of guests the inventory has hundreds of notes (every DHCP guest has one); a question about one
subnet, one node or one guest gets the notes about what it lists, not the whole cluster's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.proxmox.models import ClusterResources
from app.proxmox.netparse import IPAddress
from app.services.ips.results import IpNote
from app.services.ips.subnets import AddressFilter

__all__ = ["UNKNOWN_KINDS", "GuestScope", "related_notes", "unknown_vmids"]

# Notes on addresses Proxmox cannot know (DHCP, SLAAC, set inside the guest): such a guest may use any address.
UNKNOWN_KINDS = ("dynamic", "unknown")


@dataclass(frozen=True)
class GuestScope:
    """Guests by VMID, node and status; None means any."""

    vmid: int | None = None
    node: str | None = None
    status: str | None = None

    def holds(self, vmid: int, node: str, status: str) -> bool:
        """True when a guest with these values passes the filters."""
        return (
            (self.vmid is None or vmid == self.vmid)
            and (self.node is None or node == self.node)
            and (self.status is None or status == self.status)
        )

    def holds_note(self, note: IpNote, resources: ClusterResources) -> bool:
        """True when the note is about a guest in scope, a node of the scope, or the whole cluster."""
        if note.vmid is not None:
            guest = resources.guest(note.vmid)
            return guest is not None and self.holds(guest.vmid, guest.node, guest.status)
        if note.node is None:
            return True
        if self.vmid is not None:
            guest = resources.guest(self.vmid)
            return guest is not None and guest.node == note.node
        return self.node is None or note.node == self.node


def related_notes(
    notes: Iterable[IpNote],
    resources: ClusterResources,
    scope: GuestScope,
    wanted: AddressFilter | None,
    listed: set[int],
    gateways: Iterable[tuple[IPAddress, int]],
) -> list[IpNote]:
    """The notes in scope; with an address filter, only those about guests with an address or a gateway it
    matches (`listed` holds the guests with a matching address), and those about nodes or the cluster."""
    near = set(listed)
    if wanted is not None:
        near |= {vmid for gateway, vmid in gateways if wanted.matches(gateway)}
    return [
        n
        for n in notes
        if scope.holds_note(n, resources) and (wanted is None or n.vmid is None or n.vmid in near)
    ]


def unknown_vmids(notes: Iterable[IpNote]) -> set[int]:
    """The guests with an address Proxmox cannot know."""
    return {n.vmid for n in notes if n.kind in UNKNOWN_KINDS and n.vmid is not None}
