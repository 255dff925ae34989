"""Pure parsers for guest networking: config lines (QEMU netN/ipconfigN, LXC netN) and live answers
(guest agent, container interfaces) become typed address records. No I/O; bad values become `problems`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_interface
from typing import Any

IPAddress = IPv4Address | IPv6Address
SOURCE_AGENT = "guest agent"
SOURCE_CT = "container interfaces"
NET_KEY = re.compile(r"^net(\d+)$")
IPCONFIG_KEY = re.compile(r"^ipconfig(\d+)$")
MAC = re.compile(r"^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$")
# QEMU NIC models: `virtio=BC:24:11:..` names the model and carries the MAC in one option.
QEMU_MODELS = frozenset(
    {"e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b", "i82559er"}
    | {"ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3"}
)
LOOPBACK_NAMES = frozenset({"lo"})


def config_source(key: str) -> str:
    """'config: ipconfig0' for the config key an address came from."""
    return f"config: {key}"


@dataclass(frozen=True)
class AddressRecord:
    """One address of a guest and where Proxmox learned it."""

    address: IPAddress
    prefix_length: int | None
    interface: str | None
    mac: str | None
    source: str
    gateway: IPAddress | None = None

    @property
    def version(self) -> int:
        """4 or 6."""
        return self.address.version

    @property
    def link_local(self) -> bool:
        """True for fe80::/10 and 169.254/16: valid on the link only, not routable."""
        return self.address.is_link_local

    @property
    def configured(self) -> bool:
        """True when it comes from the guest's config rather than from the running guest."""
        return self.source.startswith("config:")


@dataclass(frozen=True)
class AddressConfig:
    """What a config line says about addresses: static ones, and the dynamic ways it gets others."""

    addresses: tuple[AddressRecord, ...] = ()
    gateways: tuple[IPAddress, ...] = ()
    dhcp4: bool = False
    dhcp6: bool = False
    auto6: bool = False
    # LXC 'manual': the container's own network set-up assigns the address.
    manual: bool = False
    problems: tuple[str, ...] = ()

    @property
    def dynamic(self) -> bool:
        """True when some address is not in the config (DHCP, SLAAC, or set inside the guest)."""
        return self.dhcp4 or self.dhcp6 or self.auto6 or self.manual


@dataclass(frozen=True)
class NicConfig:
    """A configured network device (netN)."""

    key: str
    mac: str | None = None
    bridge: str | None = None
    vlan: int | None = None
    model: str | None = None
    name: str | None = None  # LXC: the name inside the container (eth0)


@dataclass(frozen=True)
class InterfaceConfig:
    """A NIC and how it is addressed; `addressing` is None when Proxmox does not set its addresses."""

    nic: NicConfig
    addressing: AddressConfig | None
    addressing_key: str | None = None

    @property
    def label(self) -> str:
        """The name people know it by: eth0 for a container, net0 for a VM."""
        return self.nic.name or self.nic.key


@dataclass(frozen=True)
class GuestNetworkConfig:
    """The network part of one guest's config."""

    interfaces: tuple[InterfaceConfig, ...]
    agent: bool
    digest: str | None

    @property
    def addresses(self) -> list[AddressRecord]:
        """Every static address of every interface."""
        return [a for i in self.interfaces if i.addressing for a in i.addressing.addresses]

    @property
    def gateways(self) -> list[IPAddress]:
        """Every configured gateway."""
        return [g for i in self.interfaces if i.addressing for g in i.addressing.gateways]

    @property
    def problems(self) -> list[str]:
        """Values that could not be read."""
        return [p for i in self.interfaces if i.addressing for p in i.addressing.problems]


def split_props(text: object, default_key: str | None = None) -> dict[str, str]:
    """PVE's property string 'a=1,b=2' as a dict; a bare value goes under default_key."""
    out: dict[str, str] = {}
    for part in str(text or "").split(","):
        key, sep, value = part.strip().partition("=")
        if not key:
            continue
        if sep:
            out[key.strip()] = value.strip()
        elif default_key and default_key not in out:
            out[default_key] = key
    return out


def normal_mac(value: object) -> str | None:
    """A MAC in PVE's upper-case form, or None when missing, malformed or all zeros."""
    text = str(value or "").strip()
    if not MAC.match(text) or text.replace(":", "").strip("0") == "":
        return None
    return text.upper()


def agent_enabled(value: object) -> bool:
    """True when the config's `agent` value ('1', 'enabled=1,fstrim_cloned_disks=1', 1) turns it on."""
    return split_props(value, "enabled").get("enabled", "0") in ("1", "on", "yes", "true")


def _static(
    value: str, version: int, key: str, nic: NicConfig, gateway: str | None
) -> tuple[AddressRecord | None, str | None]:
    """A CIDR value as a record, or (None, problem)."""
    try:
        address, prefix = _cidr(value)
    except ValueError:
        return None, f"{key}: '{value}' is not an address in CIDR form"
    if address.version != version:
        return None, f"{key}: '{value}' is not an IPv{version} address"
    gw = _address(gateway) if gateway else None
    mac, name = nic.mac, nic.name or nic.key
    record = AddressRecord(address, prefix, name, mac, config_source(key), gw)
    return record, None


def _cidr(value: str) -> tuple[IPAddress, int]:
    """'10.0.10.21/24' as (address, 24); ValueError when it is not one.

    ip_interface() builds the whole network too, which made parsing most of reading 10,000 configs: the usual
    'address/length' is taken apart here, anything else is left to it.
    """
    text, _, length = value.partition("/")
    if length.isascii() and length.isdigit():
        address = _ip(text)
        if int(length) <= address.max_prefixlen:
            return address, int(length)
    iface = ip_interface(value)
    return iface.ip, iface.network.prefixlen


def _address(text: str) -> IPAddress | None:
    bare = text.split("%", 1)[0]
    if not bare:
        return None
    try:
        return _ip(bare)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _ip(text: str) -> IPAddress:
    """ip_address() for text, without its failed IPv4 attempt for IPv6; remembered, since every guest of a
    subnet names the same gateway (addresses are immutable)."""
    return IPv6Address(text) if ":" in text else IPv4Address(text)


def _addressing(opts: Mapping[str, str], key: str, nic: NicConfig, *, dhcp_default: bool) -> AddressConfig:
    """ip/gw/ip6/gw6 options (shared by ipconfigN and LXC netN) as an AddressConfig."""
    found: list[AddressRecord] = []
    problems: list[str] = []
    flags = {"dhcp4": False, "dhcp6": False, "auto6": False, "manual": False}
    for field, gw_field, version in (("ip", "gw", 4), ("ip6", "gw6", 6)):
        value = opts.get(field, "").strip().lower()
        if value in ("dhcp", "auto", "manual"):
            flag = "manual" if value == "manual" else f"{value}{version}"
            if flag in flags:
                flags[flag] = True
            else:  # 'auto' (SLAAC) exists for IPv6 only
                problems.append(f"{key}: {field}={value} is not valid")
        elif value:
            record, problem = _static(opts[field].strip(), version, key, nic, opts.get(gw_field))
            found.extend([record] if record else [])
            problems.extend([problem] if problem else [])
    if dhcp_default and not opts.get("ip") and not opts.get("ip6"):
        # PVE: cloud-init with neither address set defaults to DHCP on IPv4.
        flags["dhcp4"] = True
    gateways = [g for g in (_address(opts.get(f, "")) for f in ("gw", "gw6")) if g]
    return AddressConfig(tuple(found), tuple(gateways), problems=tuple(problems), **flags)


def parse_qemu_net(key: str, value: object) -> NicConfig:
    """QEMU netN ('virtio=BC:24:11:..,bridge=vmbr0,firewall=1,tag=20') as a NicConfig."""
    opts = split_props(value)
    model = next((m for m in opts if m in QEMU_MODELS), opts.get("model"))
    mac = normal_mac(opts.get(model or "", "") or opts.get("macaddr"))
    tag = opts.get("tag", "")
    return NicConfig(key, mac, opts.get("bridge") or None, int(tag) if tag.isdigit() else None, model)


def parse_ipconfig(key: str, value: object, nic: NicConfig | None = None) -> AddressConfig:
    """QEMU cloud-init ipconfigN ('ip=10.0.10.21/24,gw=10.0.10.1,ip6=auto'); nic is the matching netN."""
    target = nic or NicConfig("net" + key.removeprefix("ipconfig"))
    return _addressing(split_props(value), key, target, dhcp_default=True)


def parse_lxc_net(key: str, value: object) -> InterfaceConfig:
    """LXC netN ('name=eth0,bridge=vmbr0,hwaddr=..,ip=10.0.20.5/24,gw=..,ip6=..') as an InterfaceConfig."""
    opts = split_props(value)
    tag = opts.get("tag", "")
    nic = NicConfig(
        key,
        normal_mac(opts.get("hwaddr")),
        opts.get("bridge") or None,
        int(tag) if tag.isdigit() else None,
        opts.get("type") or "veth",
        opts.get("name") or None,
    )
    return InterfaceConfig(nic, _addressing(opts, key, nic, dhcp_default=False), key)


def _numbered(config: Mapping[str, Any], pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    found = [(int(m.group(1)), key) for key in config if (m := pattern.match(str(key)))]
    return sorted(found)


def network_part(config: Mapping[str, Any]) -> dict[str, str]:
    """The keys of a config that parse_config reads (netN, ipconfigN, agent, digest), as strings."""
    keep = ("agent", "digest")
    return {
        str(k): str(v)
        for k, v in config.items()
        if k in keep or NET_KEY.match(str(k)) or IPCONFIG_KEY.match(str(k))
    }


def parse_config(kind: str, config: Mapping[str, Any]) -> GuestNetworkConfig:
    """The network part of GET /nodes/{node}/{qemu|lxc}/{vmid}/config."""
    digest = str(config["digest"]) if config.get("digest") else None
    if kind == "lxc":
        nets = tuple(parse_lxc_net(key, config[key]) for _n, key in _numbered(config, NET_KEY))
        return GuestNetworkConfig(nets, False, digest)
    nics = {n: parse_qemu_net(key, config[key]) for n, key in _numbered(config, NET_KEY)}
    ipconfigs = dict(_numbered(config, IPCONFIG_KEY))
    interfaces = []
    for n in sorted(set(nics) | set(ipconfigs)):
        nic = nics.get(n) or NicConfig(f"net{n}")
        key = ipconfigs.get(n)
        addressing = parse_ipconfig(key, config[key], nic) if key else None
        interfaces.append(InterfaceConfig(nic, addressing, key))
    return GuestNetworkConfig(tuple(interfaces), agent_enabled(config.get("agent")), digest)


def _prefix(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _live_record(
    text: object, prefix: object, name: str, mac: str | None, source: str
) -> AddressRecord | None:
    """One live address, or None for loopback, unspecified and unreadable ones."""
    raw = str(text or "").strip()
    if "/" in raw and prefix is None:
        raw, prefix = raw.split("/", 1)
    address = _address(raw)
    if address is None or address.is_loopback or address.is_unspecified:
        return None
    return AddressRecord(address, _prefix(prefix) if prefix is not None else None, name, mac, source)


def _items(data: Any, key: str | None = None) -> list[Mapping[str, Any]]:
    if isinstance(data, Mapping) and key:
        data = data.get(key)
    return [item for item in data or [] if isinstance(item, Mapping)] if isinstance(data, list) else []


def parse_agent_interfaces(data: Any) -> list[AddressRecord]:
    """The guest agent's network-get-interfaces answer ({'result': [...]} or the list), without loopback."""
    out: list[AddressRecord] = []
    for iface in _items(data, "result"):
        name = str(iface.get("name") or "")
        if name in LOOPBACK_NAMES:
            continue
        mac = normal_mac(iface.get("hardware-address"))
        for entry in _items(iface.get("ip-addresses")):
            record = _live_record(entry.get("ip-address"), entry.get("prefix"), name, mac, SOURCE_AGENT)
            out.extend([record] if record else [])
    return out


def _ct_entries(iface: Mapping[str, Any]) -> Iterable[tuple[object, object]]:
    """(address, prefix) pairs: `ip-addresses` (PVE 8.x and later) or the older inet/inet6 'a/len' fields."""
    listed = _items(iface.get("ip-addresses"))
    if listed:
        return [(e.get("ip-address"), e.get("prefix")) for e in listed]
    return [(iface[k], None) for k in ("inet", "inet6") if iface.get(k)]


def parse_lxc_interfaces(data: Any) -> list[AddressRecord]:
    """GET /nodes/{node}/lxc/{vmid}/interfaces ([{name, hwaddr, inet, inet6, ip-addresses}]), without lo."""
    out: list[AddressRecord] = []
    for iface in _items(data):
        name = str(iface.get("name") or "")
        if name in LOOPBACK_NAMES:
            continue
        mac = normal_mac(iface.get("hwaddr") or iface.get("hardware-address"))
        for text, prefix in _ct_entries(iface):
            record = _live_record(text, prefix, name, mac, SOURCE_CT)
            out.extend([record] if record else [])
    return out
