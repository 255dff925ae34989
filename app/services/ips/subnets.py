"""Pure helpers for address filters and subnets: what a user typed, which hosts a subnet has. No I/O."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from app.proxmox.netparse import IPAddress

__all__ = [
    "IPV6_LARGEST_PREFIX",
    "MAX_FILTER_LENGTH",
    "AddressFilter",
    "IPNetwork",
    "first_free",
    "host_count",
    "is_host",
    "parse_address_filter",
    "parse_subnet",
]

IPNetwork = IPv4Network | IPv6Network
MAX_FILTER_LENGTH = 64
# Larger IPv6 subnets are not listed: a /64 already holds 2^64 addresses.
IPV6_LARGEST_PREFIX = 64
IPV4_START = re.compile(r"^(\d{1,3})(?:\.(\d{1,3})){0,3}\.?$")
IPV6_START = re.compile(r"^[0-9a-f:]*:[0-9a-f:]*$|^[0-9a-f]{1,4}$")
EXAMPLES = "an address (10.0.10.21), its start (10.0.) or a network (10.0.10.0/24)"


@dataclass(frozen=True)
class AddressFilter:
    """A filter on addresses: one address, a network, or the start of the written form."""

    text: str
    exact: IPAddress | None = None
    network: IPNetwork | None = None
    start: str | None = None

    def matches(self, address: IPAddress) -> bool:
        """True when the address passes the filter."""
        if self.exact is not None:
            return address == self.exact
        if self.network is not None:
            return address.version == self.network.version and address in self.network
        start = self.start or ""
        if address.version == 6:
            return str(address).startswith(start) or address.exploded.startswith(start)
        return str(address).startswith(start)


def _valid_ipv4_start(text: str) -> bool:
    found = IPV4_START.match(text)
    return bool(found) and all(int(part) <= 255 for part in text.rstrip(".").split("."))


def _valid_ipv6_start(text: str) -> bool:
    groups = text.split(":")
    return bool(IPV6_START.match(text)) and len(groups) <= 8 and all(len(g) <= 4 for g in groups)


def parse_address_filter(text: str | None) -> AddressFilter | None:
    """None for an empty filter; raises ValueError (with what is accepted) for anything not address-like."""
    value = (text or "").strip().lower()
    if not value:
        return None
    if len(value) > MAX_FILTER_LENGTH:
        raise ValueError(f"is longer than {MAX_FILTER_LENGTH} characters; give {EXAMPLES}")
    if "/" in value:
        try:
            return AddressFilter(value, network=ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"'{text}' is not a network; give {EXAMPLES}") from None
    try:
        return AddressFilter(value, exact=ip_address(value))
    except ValueError:
        pass
    if _valid_ipv4_start(value) or _valid_ipv6_start(value):
        return AddressFilter(value, start=value)
    raise ValueError(f"'{text}' is not an address or the start of one; give {EXAMPLES}")


def parse_subnet(text: str | None) -> IPNetwork:
    """A subnet in CIDR form ('10.0.10.0/24'); raises ValueError saying what is wrong."""
    value = (text or "").strip()
    if not value:
        raise ValueError("give a subnet in CIDR form, like 10.0.10.0/24")
    if "/" not in value or len(value) > MAX_FILTER_LENGTH:
        raise ValueError(f"'{value[:MAX_FILTER_LENGTH]}' is not a subnet in CIDR form, like 10.0.10.0/24")
    try:
        network = ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"'{value}' is not a subnet in CIDR form, like 10.0.10.0/24") from None
    if network.version == 6 and network.prefixlen < IPV6_LARGEST_PREFIX:
        raise ValueError(
            f"{network} is larger than a /{IPV6_LARGEST_PREFIX}; IPv6 subnets that big cannot be "
            f"listed address by address: give a /{IPV6_LARGEST_PREFIX} or smaller"
        )
    return network


def host_count(network: IPNetwork) -> int:
    """How many host addresses the subnet has (IPv4 without network and broadcast; /31 and /32 whole)."""
    if network.version == 4:
        return network.num_addresses if network.prefixlen >= 31 else network.num_addresses - 2
    # IPv6: hosts() leaves out the Subnet-Router anycast address (the first), except in /127 and /128.
    return network.num_addresses if network.prefixlen >= 127 else network.num_addresses - 1


def is_host(network: IPNetwork, address: IPAddress) -> bool:
    """True when the address is one of the subnet's host addresses (the ones host_count counts)."""
    if address.version != network.version or address not in network:
        return False
    if network.prefixlen >= network.max_prefixlen - 1:
        return True
    if address == network.network_address:
        return False
    return network.version == 6 or address != network.broadcast_address


def first_free(network: IPNetwork, used: Container[IPAddress], limit: int, skip: int = 0) -> list[IPAddress]:
    """Up to `limit` host addresses of the subnet, in order, that are not in `used`, after the first `skip`."""
    out: list[IPAddress] = []
    if limit <= 0:
        return out
    for address in network.hosts():  # lazy: a /64 is never listed whole
        if address in used:
            continue
        if skip > 0:
            skip -= 1
            continue
        out.append(address)
        if len(out) >= limit:
            break
    return out
