"""Say plainly which of a guest's addresses Proxmox cannot know (DHCP, SLAAC, set inside the guest)."""

from __future__ import annotations

from app.proxmox.netparse import AddressRecord, InterfaceConfig
from app.services.ips.results import GuestIps

__all__ = ["explain_unknowns"]


def _seen_live(iface: InterfaceConfig, live: list[AddressRecord]) -> bool:
    """True when the running guest reported a routable address on this interface (by MAC, else by name)."""
    for record in live:
        if record.link_local:
            continue
        if iface.nic.mac and record.mac == iface.nic.mac:
            return True
        if not iface.nic.mac and iface.nic.name and record.interface == iface.nic.name:
            return True
    return False


def _ways(iface: InterfaceConfig) -> str:
    """'DHCP (IPv4), SLAAC (IPv6)' for an interface's dynamic addressing."""
    a = iface.addressing
    if a is None:
        return ""
    ways = [
        "DHCP (IPv4)" if a.dhcp4 else "",
        "DHCP (IPv6)" if a.dhcp6 else "",
        "SLAAC (IPv6)" if a.auto6 else "",
        "set inside the container (manual)" if a.manual else "",
    ]
    return ", ".join(w for w in ways if w)


def _why(ips: GuestIps, live_failed: bool) -> str:
    """Why no live address makes up for it."""
    g = ips.guest
    if g.template:
        return "; it is a template"
    if not g.running:
        return f"; the guest is {g.status}, so nothing reports it"
    if live_failed:
        return " (see the note above on why the running guest could not be asked)"
    if g.type == "qemu" and ips.config is not None and not ips.config.agent:
        return "; no guest agent is configured to report it"
    if g.type == "qemu":
        return "; the guest agent does not report it"
    return "; the container's interfaces do not show it"


def explain_unknowns(ips: GuestIps, live: list[AddressRecord], live_failed: bool) -> None:
    """Add at most one 'dynamic' and one 'unknown' note to ips for interfaces with no known address."""
    if ips.config is None:
        return
    dynamic, unset = [], []
    for iface in ips.config.interfaces:
        if _seen_live(iface, live):
            continue
        if iface.addressing is None:
            unset.append(iface.label)
        elif iface.addressing.dynamic:
            dynamic.append(f"{iface.label} uses {_ways(iface)}")
    why = _why(ips, live_failed)
    if dynamic:
        ips.note("dynamic", f"{'; '.join(dynamic)}: the address is assigned at run time{why}.")
    if unset:
        where = ", ".join(unset)
        ips.note("unknown", f"{where}: no address in the config (it is set inside the guest){why}.")
