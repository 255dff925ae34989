"""What the IP inventory answers: one row per guest address, notes on what could not be read, free addresses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.proxmox.models import GuestResource
from app.proxmox.netparse import AddressRecord, GuestNetworkConfig, IPAddress
from app.services.ips.subnets import AddressFilter, IPNetwork

__all__ = [
    "CANNOT_SEE",
    "FreeAddresses",
    "GuestIps",
    "IndexProgress",
    "IpInventory",
    "IpItem",
    "IpNote",
    "UsedAddress",
    "guest_label",
    "label_of",
    "merge_records",
]

CANNOT_SEE = (
    "Proxmox cannot see addresses set inside a guest's operating system (unless its guest agent is running), "
    "leases handed out by a DHCP server, or other hosts on the network (routers, printers, physical servers, "
    "other clusters). 'Free' here means no guest Proxmox knows of uses it: check the network (ping, ARP, "
    "your DHCP server or IPAM) before you assign one."
)


def label_of(kind: str, vmid: int, name: str) -> str:
    """'VM 100 web01' or 'CT 101 dns01'."""
    return f"{'VM' if kind == 'qemu' else 'CT'} {vmid} {name}".rstrip()


def guest_label(guest: GuestResource) -> str:
    """'VM 100 web01' or 'CT 101 dns01'."""
    return label_of(guest.type, guest.vmid, guest.name)


@dataclass(frozen=True)
class IpItem:
    """One address of one guest, merged over the places it was seen."""

    address: IPAddress
    prefix_length: int | None
    vmid: int
    name: str
    type: str
    status: str
    node: str
    template: bool
    interface: str | None
    mac: str | None
    sources: tuple[str, ...]
    # The other guests that have the same address: a clone or restore that kept it, or a typo.
    shared_with: tuple[int, ...] = ()

    @property
    def source(self) -> str:
        """Where it was seen, e.g. 'config: ipconfig0, guest agent'."""
        return ", ".join(self.sources)

    @property
    def link_local(self) -> bool:
        """True for link-local addresses (fe80::/10, 169.254/16)."""
        return self.address.is_link_local

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """IPv4 first, then by numeric address, then by guest."""
        return (self.address.version, int(self.address), self.vmid)


@dataclass(frozen=True)
class IpNote:
    """Something the inventory could not read or cannot know, for one guest or one node."""

    kind: str  # forbidden | agent | offline | error | dynamic | unknown | problem
    message: str
    vmid: int | None = None
    name: str | None = None
    node: str | None = None

    @property
    def label(self) -> str:
        """Who the note is about: 'VM 100 web01', 'Node pve3'."""
        if self.vmid is None:
            return f"Node {self.node}" if self.node else "Proxmox"
        return self.name or str(self.vmid)


@dataclass
class GuestIps:
    """Everything known about one guest's addresses."""

    guest: GuestResource
    records: list[AddressRecord] = field(default_factory=list)
    config: GuestNetworkConfig | None = None
    notes: list[IpNote] = field(default_factory=list)

    def note(self, kind: str, message: str) -> None:
        """Add a note about this guest."""
        g = self.guest
        self.notes.append(IpNote(kind, message, g.vmid, guest_label(g), g.node))

    def items(self) -> list[IpItem]:
        """The guest's addresses, one item per address."""
        g = self.guest
        return [
            IpItem(address, prefix, g.vmid, g.name, g.type, g.status, g.node, g.template, iface, mac, sources)
            for address, prefix, iface, mac, sources in merge_records(self.records)
        ]


Merged = tuple[IPAddress, int | None, str | None, str | None, tuple[str, ...]]


def merge_records(records: Iterable[AddressRecord]) -> list[Merged]:
    """One entry per address: first known prefix length and MAC, every interface name and source."""
    by_address: dict[IPAddress, list[AddressRecord]] = {}
    for record in records:
        by_address.setdefault(record.address, []).append(record)
    out: list[Merged] = []
    for address, seen in by_address.items():
        prefix = next((r.prefix_length for r in seen if r.prefix_length is not None), None)
        mac = next((r.mac for r in seen if r.mac), None)
        names = list(dict.fromkeys(r.interface for r in seen if r.interface))
        sources = tuple(dict.fromkeys(r.source for r in seen))
        out.append((address, prefix, " / ".join(names) or None, mac, sources))
    return out


@dataclass(frozen=True)
class IndexProgress:
    """How much of the cluster the IP index has read at least once: every config first, then live answers."""

    guests: int = 0
    configs: int = 0
    # Running guests that can report addresses (guest agent on, or a container), and how many have.
    live: int = 0
    live_read: int = 0

    @property
    def complete(self) -> bool:
        """True once every guest's config and every live answer due has been read (at any age)."""
        return self.configs >= self.guests and self.live_read >= self.live

    @property
    def stage(self) -> str:
        """'configs', then 'live', then 'done'."""
        if self.configs < self.guests:
            return "configs"
        return "live" if self.live_read < self.live else "done"

    @property
    def done(self) -> int:
        """How many reads of this stage are done."""
        return {"configs": self.configs, "live": self.live_read}.get(self.stage, self.guests)

    @property
    def total(self) -> int:
        """How many reads this stage has."""
        return {"configs": self.guests, "live": self.live}.get(self.stage, self.guests)

    @property
    def text(self) -> str:
        """'Read 812 of 2,000 guests' configurations', or the same of guest agents, or ''."""
        if self.stage == "configs":
            return f"Read {self.configs:,} of {self.guests:,} guests' configurations"
        if self.stage == "live":
            return f"Read {self.live_read:,} of {self.live:,} guest agents and container interfaces"
        return ""


@dataclass
class IpInventory:
    """Every address Proxmox knows of (after the filter), and notes on what it could not read."""

    items: list[IpItem]
    notes: list[IpNote]
    filter: AddressFilter | None
    guests: int
    total: int
    # Guests in scope with an address Proxmox cannot know (DHCP, SLAAC, set inside): they may use any.
    unknown_guests: int = 0
    # How far the first reading of the index has come; items are what is known so far until it is complete.
    progress: IndexProgress = field(default_factory=IndexProgress)

    @property
    def duplicates(self) -> int:
        """How many of the listed addresses more than one guest has."""
        return len({i.address for i in self.items if i.shared_with})

    @property
    def problems(self) -> list[IpNote]:
        """Notes on data that could not be read (permissions, offline nodes, agents, errors)."""
        return [n for n in self.notes if n.kind not in ("dynamic", "unknown")]

    @property
    def unknowns(self) -> list[IpNote]:
        """Notes on addresses Proxmox cannot know (DHCP, SLAAC, set inside the guest)."""
        return [n for n in self.notes if n.kind in ("dynamic", "unknown")]


@dataclass(frozen=True)
class UsedAddress:
    """An address in the subnet that is taken, and by what."""

    address: IPAddress
    what: str
    vmid: int | None = None


@dataclass
class FreeAddresses:
    """Unused host addresses of a subnet, as far as Proxmox can tell."""

    network: IPNetwork
    hosts: int
    free: list[IPAddress]
    used: list[UsedAddress]
    free_count: int
    limit: int
    notes: list[IpNote]
    unknown_guests: int
    cannot_see: str = CANNOT_SEE
    # How many free addresses come before the listed ones (a later page of the free list).
    skip: int = 0
    # Which checks beyond Proxmox ran and what they cannot see; how many listed addresses they checked.
    checks: str = ""
    probed: int = 0

    @property
    def truncated(self) -> bool:
        """True when more addresses are free than are listed."""
        return self.free_count > len(self.free)

    @property
    def more(self) -> bool:
        """True when free addresses follow the listed ones."""
        return self.free_count > self.skip + len(self.free)
