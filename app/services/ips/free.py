"""Free addresses in a subnet: everything a guest, a configured gateway or a node uses is taken."""

from __future__ import annotations

from collections import Counter
from ipaddress import ip_address

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveForbidden
from app.proxmox.netparse import IPAddress
from app.services.ips.results import FreeAddresses, GuestIps, IpNote, UsedAddress, guest_label
from app.services.ips.subnets import IPNetwork, first_free, host_count, is_host

__all__ = ["DEFAULT_FREE_LIMIT", "MAX_FREE_LIMIT", "node_addresses", "tally_free"]

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


def _taken_by(
    network: IPNetwork, guests: list[GuestIps]
) -> tuple[dict[IPAddress, list[str]], dict[IPAddress, int]]:
    """Who uses each address of the subnet (guests and gateways), and the first guest's vmid."""
    used: dict[IPAddress, list[str]] = {}
    vmids: dict[IPAddress, int] = {}
    gateways: Counter[IPAddress] = Counter()
    for ips in guests:
        for item in ips.items():
            if item.address in network:
                used.setdefault(item.address, []).append(guest_label(ips.guest))
                vmids.setdefault(item.address, ips.guest.vmid)
        if ips.config is not None:
            gateways.update({gw for gw in ips.config.gateways if gw in network})
    for gw, count in gateways.items():
        used.setdefault(gw, []).append(f"gateway in {count} guest config{'s' if count > 1 else ''}")
    return used, vmids


def tally_free(
    network: IPNetwork,
    guests: list[GuestIps],
    nodes: dict[IPAddress, str],
    limit: int,
    notes: list[IpNote],
) -> FreeAddresses:
    """The free host addresses of the subnet (the first `limit`), and what takes the others."""
    used, vmids = _taken_by(network, guests)
    for address, name in nodes.items():
        if address in network:
            used.setdefault(address, []).append(name)
    taken = {address for address in used if is_host(network, address)}
    listed = [
        UsedAddress(address, ", ".join(dict.fromkeys(what)), vmids.get(address))
        for address, what in sorted(used.items(), key=lambda pair: int(pair[0]))
    ]
    unknown = sum(1 for g in guests if any(n.kind in ("dynamic", "unknown") for n in g.notes))
    hosts = host_count(network)
    return FreeAddresses(
        network=network,
        hosts=hosts,
        free=first_free(network, taken, limit),
        used=listed,
        free_count=hosts - len(taken),
        limit=limit,
        notes=notes,
        unknown_guests=unknown,
    )
