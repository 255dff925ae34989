"""Check a config key and its value against Proxmox's schema (config_keys.py), in Proxmox's own words, so a
wrong edit is refused before anything is sent."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from app.operations.config_keys import KEYS

INDEXED = re.compile(r"^([a-z]+)(\d+)$")
# How many of each indexed key Proxmox allows (qemu-server's MAX_NETS and the IDE bus; pve-container's).
MAX_INDEX = {"net": 32, "ipconfig": 32, "ide": 4}
DNS_LABEL = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?")
TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9_\-+.]*")
MAC = re.compile(r"[a-fA-F0-9][02468aceACE](?::[a-fA-F0-9]{2}){5}")
URLENCODED = re.compile(r"[a-zA-Z0-9\-%_.!~*'()]*")
CPU_TYPE = re.compile(r"(?:custom-)?[a-zA-Z0-9_.\-]+")
VOLUME = re.compile(r"[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]:[^\s,]+")
BOOT_DEVICE = re.compile(r"(?:ide|sata|scsi|virtio|net|usb|hostpci)\d+")
CHECKED_VALUE_MAX = 8192


def schema_key(kind: str, key: str) -> str | None:
    """The schema's name of a config key (net3 -> net[n]), or None when `configure` does not change it."""
    keys = KEYS.get(kind, {})
    if key in keys:
        return key
    match = INDEXED.match(key)
    if match and f"{match[1]}[n]" in keys and int(match[2]) < MAX_INDEX.get(match[1], 256):
        return f"{match[1]}[n]"
    return None


def check_value(kind: str, key: str, value: Any) -> str | None:
    """Proxmox's complaint about this value of key (kind 'qemu' or 'lxc'), or None when it is acceptable."""
    name = schema_key(kind, key)
    if name is None:
        return "this key cannot be changed here"
    return _check(KEYS[kind][name], value)


def _check(schema: dict[str, Any], value: Any) -> str | None:
    kind = schema.get("type", "string")
    text = str(int(value) if isinstance(value, bool) else value)
    if kind == "boolean":
        return (
            None
            if text.lower() in ("0", "1", "true", "false", "yes", "no", "on", "off")
            else (f"type check ('boolean') failed - got '{text}'")
        )
    if kind in ("integer", "number"):
        return _check_number(schema, kind, text)
    if len(text) > int(schema.get("maxLength", CHECKED_VALUE_MAX)):
        return f"value may only be {schema.get('maxLength', CHECKED_VALUE_MAX)} characters long"
    if "enum" in schema and text not in schema["enum"]:
        return f"value '{text}' does not have a value in the enumeration '{', '.join(schema['enum'])}'"
    if "pattern" in schema and not re.fullmatch(schema["pattern"], text):
        return "value does not match the regex pattern"
    fmt = schema.get("format")
    if isinstance(fmt, dict):
        return _check_property_string(fmt, text)
    if isinstance(fmt, str):
        return check_format(fmt, text)
    return None


def _check_number(schema: dict[str, Any], kind: str, text: str) -> str | None:
    pattern = r"-?\d+" if kind == "integer" else r"-?\d+(?:\.\d+)?"
    if not re.fullmatch(pattern, text):
        return f"type check ('{kind}') failed - got '{text}'"
    number = float(text)
    if "minimum" in schema and number < schema["minimum"]:
        return f"value must have a minimum value of {schema['minimum']}"
    if "maximum" in schema and number > schema["maximum"]:
        return f"value must have a maximum value of {schema['maximum']}"
    return None


def parse_property_string(text: str, default_key: str | None = None) -> dict[str, str]:
    """'virtio=AA:..,bridge=vmbr0' -> {'virtio': 'AA:..', 'bridge': 'vmbr0'}; a bare first part is the
    default key's value."""
    parts: dict[str, str] = {}
    for part in text.split(","):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep and default_key is not None and default_key not in parts:
            parts[default_key] = name
        else:
            parts[name.strip()] = value
    return parts


def _check_property_string(fmt: dict[str, Any], text: str) -> str | None:
    default_key = next((k for k, s in fmt.items() if s.get("default_key")), None)
    parts = parse_property_string(text, default_key)
    for name, value in parts.items():
        sub = fmt.get(name)
        if sub is None:
            return f"invalid format - unknown property '{name}'"
        if "alias" in sub:
            sub = fmt[sub["alias"]]
        problem = _check(sub, value)
        if problem:
            return f"invalid format - {name}: {problem}"
    aliased = {fmt[n].get("keyAlias") for n in parts if "keyAlias" in fmt[n]}
    for name, sub in fmt.items():
        if "alias" in sub or sub.get("optional") or name in parts or name in aliased:
            continue
        return f"invalid format - {name}: property is missing and it is not optional"
    return None


def _dns_name(text: str) -> bool:
    return all(DNS_LABEL.fullmatch(label) for label in text.split("."))


def _ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _cidr(text: str, version: int) -> bool:
    address, sep, bits = text.partition("/")
    return (
        bool(sep)
        and bits.isdigit()
        and _ip(address, version)
        and 8 <= int(bits) <= (32 if version == 4 else 128)
    )


def _ipconfig(text: str) -> str | None:
    formats = {"ip": "pve-ipv4-config", "gw": "ipv4", "ip6": "pve-ipv6-config", "gw6": "ipv6"}
    parts = parse_property_string(text)
    for name, value in parts.items():
        if name not in formats:
            return f"invalid format - unknown property '{name}'"
        problem = check_format(formats[name], value)
        if problem:
            return f"invalid format - {name}: {problem}"
    return None


def _boot(text: str) -> str | None:
    parts = parse_property_string(text, "legacy")
    if set(parts) - {"legacy", "order"}:
        return f"invalid format - unknown property '{sorted(set(parts) - {'legacy', 'order'})[0]}'"
    if "legacy" in parts and not re.fullmatch(r"[acdn]{1,4}", parts["legacy"]):
        return "invalid format - legacy: value does not match the regex pattern"
    for device in filter(None, parts.get("order", "").split(";")):
        if not BOOT_DEVICE.fullmatch(device):
            return f"invalid format - order: invalid boot device '{device}'"
    return None


def _listed(check: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda text: all(check(item) for item in re.split(r"[\s,;]+", text) if item)


FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "dns-name": (_dns_name, "value does not look like a valid DNS name"),
    "dns-name-list": (_listed(_dns_name), "value does not look like a valid DNS name"),
    "pve-tag-list": (_listed(lambda t: bool(TAG.fullmatch(t))), "invalid characters in tag"),
    "pve-bridge-id": (lambda t: bool(re.fullmatch(r"[-_.\w]+", t)), "invalid bridge ID"),
    "mac-addr": (lambda t: bool(MAC.fullmatch(t)), "value does not look like a valid unicast MAC address"),
    "urlencoded": (lambda t: bool(URLENCODED.fullmatch(t)), "invalid urlencoded string"),
    "ipv4": (lambda t: _ip(t, 4), "value does not look like a valid IPv4 address"),
    "ipv6": (lambda t: _ip(t, 6), "value does not look like a valid IPv6 address"),
    "pve-ipv4-config": (
        lambda t: t in ("dhcp", "manual") or _cidr(t, 4),
        "value does not look like a valid ipv4 network configuration",
    ),
    "pve-ipv6-config": (
        lambda t: t in ("auto", "dhcp", "manual") or _cidr(t, 6),
        "value does not look like a valid ipv6 network configuration",
    ),
    "address-list": (
        _listed(lambda t: _ip(t, 4) or _ip(t, 6) or _dns_name(t)),
        "value does not look like a valid address",
    ),
    "lxc-ip-with-ll-iface-list": (
        _listed(lambda t: _ip(t, 4) or _ip(t.partition("%")[0], 6)),
        "value does not look like a valid IP address",
    ),
    "pve-startup-order": (
        lambda t: all(re.fullmatch(r"(?:(?:order|up|down)=)?\d+", p) for p in t.split(",")),
        "unable to parse startup options",
    ),
    "pve-vm-cpu-conf": (
        lambda t: bool(CPU_TYPE.fullmatch(parse_property_string(t, "cputype").get("cputype", ""))),
        "invalid format - cputype: not a CPU type",
    ),
    "pve-volume-id-or-qm-path": (
        lambda t: t in ("none", "cdrom") or t.startswith("/") or bool(VOLUME.fullmatch(t)),
        "unable to parse volume ID",
    ),
}


def check_format(name: str, text: str) -> str | None:
    """Proxmox's complaint about text in the named format, or None."""
    if name == "pve-qm-ipconfig":
        return _ipconfig(text)
    if name == "pve-qm-boot":
        return _boot(text)
    check, message = FORMATS[name]
    return None if check(text) else message
