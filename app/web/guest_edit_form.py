"""The guest page's edit form: its fields drawn from the config (app/web/guest_edit_changes.py turns what was
typed into the `configure` operation's parameters)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from app.operations.config_changes import text_of
from app.operations.config_schema import parse_property_string
from app.services.cluster import EditSource

VM_FIELDS = ("name", "cores", "sockets", "cpu", "memory", "balloon", "startup", "tags", "boot", "description")
CT_FIELDS = (
    "hostname",
    "cores",
    "memory",
    "swap",
    "startup",
    "tags",
    "nameserver",
    "searchdomain",
    "description",
)
CLOUD_INIT_FIELDS = ("ciuser", "nameserver", "searchdomain")
FLAGS = ("onboot", "protection")
CT_FEATURES = ("nesting", "keyctl", "fuse")
NIC_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "vmxnet3")
VM_NIC = ("model", "bridge", "tag", "firewall")
CT_NIC = ("name", "bridge", "tag", "firewall", "ip", "gw", "ip6", "gw6")
NET_KEY = re.compile(r"^net(\d+)$")
DRIVE_KEY = re.compile(r"^(ide|sata)\d+$")
LABELS = {
    "cpu": "CPU type",
    "memory": "Memory (MiB)",
    "balloon": "Minimum memory (MiB, balloon)",
    "swap": "Swap (MiB)",
    "startup": "Start order (order=1,up=30)",
    "tags": "Tags (separated by ;)",
    "boot": "Boot order (order=scsi0;net0)",
    "description": "Notes",
    "ciuser": "Cloud-init user",
    "nameserver": "DNS servers",
    "searchdomain": "DNS search domain",
    "onboot": "Start at boot",
    "protection": "Protection (no deletion)",
}


@dataclass
class NicRow:
    """One network device of the form: its key, and (for a VM) the MAC address it keeps."""

    key: str
    mac: str
    new: bool = False


@dataclass
class EditForm:
    """The edit form of one guest: the config it was drawn from, and what was typed into it."""

    source: EditSource
    typed: Mapping[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # What someone else changed since the form was read (a stale form sent again), in words.
    stale: list[str] = field(default_factory=list)
    problem: str = ""
    initial: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.initial = initial_values(self.source)

    @property
    def kind(self) -> str:
        """'qemu' or 'lxc'."""
        return self.source.guest.type

    @property
    def fields(self) -> tuple[str, ...]:
        """The plain fields, in the order shown."""
        return VM_FIELDS if self.kind == "qemu" else CT_FIELDS

    @property
    def cloud_init(self) -> bool:
        """True for a VM with a cloud-init drive or cloud-init values."""
        cfg = self.source.config
        return self.kind == "qemu" and any(
            "cloudinit" in str(v) or k.startswith(("ci", "ipconfig")) for k, v in cfg.items()
        )

    @property
    def nics(self) -> list[NicRow]:
        """The network devices, then a new one under the first free key."""
        keys = sorted((k for k in self.source.config if NET_KEY.match(k)), key=lambda k: int(k[3:]))
        rows = [NicRow(k, mac_of(self.kind, str(self.source.config[k]))) for k in keys]
        free = next(n for n in range(32) if f"net{n}" not in self.source.config)
        return [*rows, NicRow(f"net{free}", "", new=True)]

    @property
    def cdroms(self) -> list[str]:
        """A VM's CD-ROM drives (not its cloud-init drive), by key."""
        return cdrom_keys(self.source) if self.kind == "qemu" else []

    @property
    def checkboxes(self) -> str:
        """The names of the checkboxes drawn, sent along so that an unticked one is told from one not shown."""
        return ",".join(checkbox_names(self.source))

    def label(self, name: str) -> str:
        """The label of a plain field."""
        return LABELS.get(name, name.capitalize())

    def value(self, name: str) -> str:
        """What the field shows: as typed, else as the config has it."""
        if name in self.typed:
            return self.typed[name]
        return self.initial.get(name, "")

    def checked(self, name: str) -> bool:
        """True when a checkbox is ticked (as sent, or as the config has it)."""
        if self.typed:
            return self.typed.get(name) == "1"
        return self.initial.get(name) == "1"


def cdrom_keys(source: EditSource) -> list[str]:
    """The keys of the CD-ROM drives whose media the form changes."""
    return sorted(
        k
        for k, v in source.config.items()
        if DRIVE_KEY.match(k) and "media=cdrom" in str(v) and "cloudinit" not in str(v)
    )


def mac_of(kind: str, line: str) -> str:
    """The MAC address a device line carries (a VM's model=MAC, a container's hwaddr)."""
    parts = parse_property_string(line, "model")
    if kind == "lxc":
        return parts.get("hwaddr", "")
    return next((v for k, v in parts.items() if k in NIC_MODELS or ":" in v and k != "bridge"), "")


def nic_model(parts: dict[str, str]) -> str:
    """A VM device's model (virtio, e1000, ...)."""
    return next((k for k in parts if k in NIC_MODELS), parts.get("model", "virtio"))


def initial_values(source: EditSource) -> dict[str, str]:
    """Every field of the form as the config fills it."""
    cfg, kind = source.config, source.guest.type
    values = {
        name: text_of(cfg[name]) for name in (*VM_FIELDS, *CT_FIELDS, *CLOUD_INIT_FIELDS) if name in cfg
    }
    values |= {flag: text_of(cfg.get(flag, 0)) for flag in FLAGS}
    values["sshkeys"] = unquote(str(cfg.get("sshkeys", "")))
    for key in cdrom_keys(source):
        media = str(cfg[key]).split(",")[0]
        values[f"{key}.media"] = "" if media == "none" else media
    features = parse_property_string(str(cfg.get("features", "")))
    values |= {f"features.{f}": features.get(f, "0") for f in CT_FEATURES}
    for key in (k for k in cfg if NET_KEY.match(k)):
        parts = parse_property_string(str(cfg[key]), "model")
        if kind == "qemu":
            values |= {f"{key}.model": nic_model(parts), f"{key}.bridge": parts.get("bridge", "")}
            values[f"ipconfig{key[3:]}"] = str(cfg.get(f"ipconfig{key[3:]}", ""))
        else:
            values |= {f"{key}.{p}": parts.get(p, "") for p in ("name", "bridge", "ip", "gw", "ip6", "gw6")}
        values[f"{key}.tag"] = parts.get("tag", "")
        values[f"{key}.firewall"] = parts.get("firewall", "0")
    return values


def checkbox_names(source: EditSource) -> list[str]:
    """The form's checkboxes, which a browser leaves out when they are not ticked."""
    names = [*FLAGS]
    if source.guest.type == "lxc" and str(source.config.get("unprivileged", "0")) == "1":
        names += [f"features.{f}" for f in CT_FEATURES]
    for row in EditForm(source).nics:
        names += [f"{row.key}.firewall"] + ([] if row.new else [f"{row.key}.remove"])
    return names
