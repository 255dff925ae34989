"""Guest networking as Proxmox accepts it: container addresses (ip/gw, ip6/gw6), the node's bridges, and the
static addresses a copy of a guest would take with it.

Addresses are checked character by character before they are parsed: Python's ipaddress accepts IPv6 zone ids
(fe80::1%eth0), which PVE refuses and which could carry ',' or '=' into the net0 property string.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from app.operations.base import Refused
from app.proxmox.client import PveClient
from app.proxmox.netparse import parse_config
from app.proxmox.paths import NodePath

IPV4_TEXT = re.compile(r"^[0-9.]+(/[0-9]{1,2})?$")
IPV6_TEXT = re.compile(r"^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$")
# Each in the order the create form offers it.
Ipv4Mode = Literal["dhcp", "static", "manual"]
Ipv6Mode = Literal["none", "auto", "dhcp", "static", "manual"]
BRIDGE_TYPES = frozenset({"bridge", "OVSBridge"})


def _parse(text: str, version: int, what: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """text as an address of that version (with or without a prefix), or a ValueError in plain words."""
    other = 6 if version == 4 else 4
    if "%" in text:
        raise ValueError("leave out the zone (the part from '%'): Proxmox does not accept it")
    if not (IPV4_TEXT if version == 4 else IPV6_TEXT).match(text):
        if (IPV6_TEXT if version == 4 else IPV4_TEXT).match(text):
            raise ValueError(f"this is an IPv{other} address: give it as the IPv{other} {what}")
        raise ValueError(f"'{text}' is not an IPv{version} {what}")
    try:
        parsed = ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an IPv{version} {what}") from None
    if parsed.version != version:
        raise ValueError(f"this is an IPv{other} address: give it as the IPv{other} {what}")
    return parsed


def static_address(text: str, version: int) -> str:
    """A static container address: IPv4 or IPv6 with its prefix length, as PVE's ip=/ip6= take it."""
    parsed = _parse(text, version, "address")
    if "/" not in text:
        example = "10.0.20.5/24" if version == 4 else "fd00:20::5/64"
        raise ValueError(f"add the prefix length, e.g. {example}")
    return str(parsed)


def gateway_address(text: str, version: int, address: str | None) -> str:
    """A gateway (no prefix) of that version inside the static address's network."""
    if "/" in text:
        raise ValueError("give the gateway without a prefix length")
    gateway = _parse(text, version, "gateway").ip
    if address is not None:
        network = ipaddress.ip_interface(address).network
        if gateway not in network:
            raise ValueError(f"{gateway} is not in {network}")
    return str(gateway)


def dns_servers(text: str) -> str:
    """DNS server addresses (IPv4 or IPv6, separated by spaces, commas or semicolons) as PVE's nameserver
    takes them: one space between each."""
    servers = []
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        if "/" in item:
            raise ValueError(f"give {item} without a prefix length")
        version = 6 if ":" in item else 4
        servers.append(str(_parse(item, version, "address").ip))
    if not servers:
        raise ValueError("give at least one address, e.g. 10.0.20.1")
    return " ".join(servers)


async def node_bridges(pve: PveClient, node: str) -> list[str]:
    """The bridges of a node (GET /nodes/{node}/network?type=any_bridge), by name."""
    items = await pve.get(NodePath(node).network, type="any_bridge")
    return sorted(
        str(i["iface"]) for i in items or [] if isinstance(i, dict) and i.get("type") in BRIDGE_TYPES
    )


async def bridge_on(pve: PveClient, node: str, bridge: str) -> None:
    """Refuse a bridge the node does not have (PVE would create the guest and fail when it starts)."""
    bridges = await node_bridges(pve, node)
    if bridge not in bridges:
        offer = ", ".join(bridges) or "none"
        raise Refused(f"Node {node} has no bridge {bridge}; choose one of: {offer}.", field="bridge")


def static_addresses(kind: str, config: dict[str, Any]) -> list[str]:
    """'10.0.20.5/24 (net0)' for each static address the config gives a guest."""
    network = parse_config(kind, config)
    return [
        f"{a.address}/{a.prefix_length} ({a.source.removeprefix('config: ')})"
        if a.prefix_length is not None
        else f"{a.address} ({a.source.removeprefix('config: ')})"
        for a in network.addresses
    ]


def duplicate_warning(copy: str, addresses: list[str], owner: str) -> list[str]:
    """The warning that a copy would share static addresses with a guest that has them."""
    if not addresses:
        return []
    return [
        f"{copy} keeps the static address{'es' if len(addresses) > 1 else ''} {', '.join(addresses)} "
        f"that {owner} uses: change {'them' if len(addresses) > 1 else 'it'} before both run, or the "
        "network sees the address twice."
    ]
