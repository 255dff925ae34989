"""Free addresses in a subnet: everything a guest, a configured gateway or a node uses is taken."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveForbidden
from app.proxmox.netparse import IPAddress
from app.services.ips.results import FreeAddresses, IpItem, IpNote, UsedAddress, label_of
from app.services.ips.subnets import IPNetwork, first_free, host_count, is_host

__all__ = ["DEFAULT_FREE_LIMIT", "MAX_FREE_LIMIT", "Taken", "Window", "node_addresses", "tally_free"]

DEFAULT_FREE_LIMIT = 256
MAX_FREE_LIMIT = 4096


async def node_addresses(pve: PveClient, notes: list[IpNote]) -> dict[IPAddress, str]:
    """'node pve1' by address, from GET /cluster/status; a note instead when it cannot be read."""
    try:
        status = await pve.cluster_status()
    except PveError as exc:
        kind = "forbidden" if isinstance(exc, PveForbidden) else "error"
        notes.append(IpNote(kind, f"The nodes' own addresses are not known: {exc}"))
        return {}
    out: dict[IPAddress, str] = {}
    for member in status.nodes:
        try:
            out[ip_address(member.ip or "")] = f"Proxmox node {member.name}"
        except ValueError:
            continue
    return out


@dataclass(frozen=True)
class Taken:
    """What uses addresses: the inventory's items, the gateways guests' configs set, and the nodes."""

    items: Sequence[IpItem]
    gateways: Sequence[tuple[IPAddress, int]]
    nodes: dict[IPAddress, str]
    # Addresses something outside Proxmox answered for, and how (PROXGATE_IP_PROBE).
    outside: dict[IPAddress, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """Which of the free addresses to list: `limit` of them, after the first `skip`."""

    limit: int
    skip: int = 0


def _taken_by(network: IPNetwork, taken: Taken) -> tuple[dict[IPAddress, list[str]], dict[IPAddress, int]]:
    """Who uses each address of the subnet (guests, gateways and nodes), and the first guest's vmid."""
    used: dict[IPAddress, list[str]] = {}
    vmids: dict[IPAddress, int] = {}
    for item in taken.items:
        if item.address in network:
            used.setdefault(item.address, []).append(label_of(item.type, item.vmid, item.name))
            vmids.setdefault(item.address, item.vmid)
    gateways = Counter(gw for gw, _ in taken.gateways if gw in network)
    for gw, count in gateways.items():
        used.setdefault(gw, []).append(f"gateway in {count} guest config{'s' if count > 1 else ''}")
    for address, name in taken.nodes.items():
        if address in network:
            used.setdefault(address, []).append(name)
    for address, how in taken.outside.items():
        if address in network:
            used.setdefault(address, []).append(f"in use outside Proxmox: it {how}")
    return used, vmids


def tally_free(
    network: IPNetwork, taken: Taken, window: Window, notes: list[IpNote], unknown_guests: int
) -> FreeAddresses:
    """The free host addresses of the subnet (the window's), and what takes the others."""
    used, vmids = _taken_by(network, taken)
    hosts_taken = {address for address in used if is_host(network, address)}
    listed = [
        UsedAddress(address, ", ".join(dict.fromkeys(what)), vmids.get(address))
        for address, what in sorted(used.items(), key=lambda pair: int(pair[0]))
    ]
    hosts = host_count(network)
    return FreeAddresses(
        network=network,
        hosts=hosts,
        free=first_free(network, hosts_taken, window.limit, window.skip),
        used=listed,
        free_count=hosts - len(hosts_taken),
        limit=window.limit,
        notes=notes,
        unknown_guests=unknown_guests,
        skip=window.skip,
    )
