"""Static addresses another guest already holds: a new guest (create, clone, restore) takes one only when the
caller confirms it with `allow_ip_reuse`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import ip_interface
from typing import Any

from app.operations.base import Context, Refused
from app.operations.holders import reuse_message
from app.proxmox.netparse import parse_config

CONFIRM = "allow_ip_reuse"


def config_addresses(kind: str, config: dict[str, Any]) -> list[str]:
    """'10.0.20.5/24' for each static address a guest config sets (a copy of it would take them along)."""
    found = parse_config(kind, config).addresses
    out = [f"{a.address}/{a.prefix_length}" if a.prefix_length is not None else str(a.address) for a in found]
    return list(dict.fromkeys(out))


class AddressInUse(Refused):
    """A static address another guest holds: refused until the caller confirms it (`confirm` names how)."""

    confirm = CONFIRM


async def unique_addresses(
    ctx: Context, addresses: Sequence[str], allowed: bool, fields: Mapping[str, str] | None = None
) -> list[str]:
    """Refuse addresses ('10.0.20.15/24') another guest holds, unless allowed; then a warning that says so.
    `fields` names the parameter that gave each address (the refusal names the first one's, else the
    confirmation's). Nothing to check without an address book (an operation run outside the pipeline)."""
    if not addresses or ctx.addresses is None:
        return []
    holders = await ctx.addresses.holders(addresses)
    if not holders:
        return []
    said = reuse_message(holders)
    if not allowed:
        by_address = {str(ip_interface(a).ip): f for a, f in (fields or {}).items()}
        raise AddressInUse(
            f"{said}. Two guests with one address cut each other off the network: choose another address, "
            f"or confirm with {CONFIRM} to use it anyway.",
            field=by_address.get(holders[0].address, CONFIRM),
        )
    return [f"{said}: used anyway, as confirmed ({CONFIRM})."]
