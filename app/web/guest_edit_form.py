"""The guest page's edit form: its fields drawn from the config, and what was typed turned into the `configure`
operation's parameters (only the keys whose value changed; a network device keeps its MAC address)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

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
        rows = [NicRow(k, _mac(self.kind, str(self.source.config[k]))) for k in keys]
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


def _mac(kind: str, line: str) -> str:
    parts = parse_property_string(line, "model")
    if kind == "lxc":
        return parts.get("hwaddr", "")
    return next((v for k, v in parts.items() if k in NIC_MODELS or ":" in v and k != "bridge"), "")


def _nic_model(parts: dict[str, str]) -> str:
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
            values |= {f"{key}.model": _nic_model(parts), f"{key}.bridge": parts.get("bridge", "")}
            values[f"ipconfig{key[3:]}"] = str(cfg.get(f"ipconfig{key[3:]}", ""))
        else:
            values |= {f"{key}.{p}": parts.get(p, "") for p in ("name", "bridge", "ip", "gw", "ip6", "gw6")}
        values[f"{key}.tag"] = parts.get("tag", "")
        values[f"{key}.firewall"] = parts.get("firewall", "0")
    return values


def _nic_line(kind: str, old: str, typed: Mapping[str, str], key: str) -> str:
    """The device's new property string: the typed parts over the old ones, its MAC address kept."""
    parts = parse_property_string(old, "model")
    if kind == "qemu":
        mac = _mac(kind, old)
        model = typed.get(f"{key}.model") or _nic_model(parts)
        parts = {k: v for k, v in parts.items() if k not in NIC_MODELS and k not in ("model", "macaddr")}
        head = f"{model}={mac}" if mac else model
    else:
        head = ""
    for part in VM_NIC[1:] if kind == "qemu" else CT_NIC:
        value = typed.get(f"{key}.{part}", "0" if part == "firewall" else "").strip()
        if value and (part != "firewall" or value == "1" or "firewall" in parts):
            parts[part] = value
        else:
            parts.pop(part, None)
    return ",".join(filter(None, [head, *(f"{k}={v}" for k, v in parts.items())]))


def checkbox_names(source: EditSource) -> list[str]:
    """The form's checkboxes, which a browser leaves out when they are not ticked."""
    names = [*FLAGS]
    if source.guest.type == "lxc" and str(source.config.get("unprivileged", "0")) == "1":
        names += [f"features.{f}" for f in CT_FEATURES]
    for row in EditForm(source).nics:
        names += [f"{row.key}.firewall"] + ([] if row.new else [f"{row.key}.remove"])
    return names


def with_checkboxes(source: EditSource, typed: Mapping[str, str]) -> dict[str, str]:
    """What was sent, each checkbox the form drew (listed in its `checkboxes` field) as '1' or '0', and any other
    as the config has it: a form that did not show a checkbox does not untick it."""
    shown = set(filter(None, typed.get("checkboxes", "").split(",")))
    initial = initial_values(source)
    values = {k: v for k, v in typed.items() if k != "checkboxes" and not _is_checkbox(k)}
    for name in checkbox_names(source):
        values[name] = ("1" if typed.get(name) == "1" else "0") if name in shown else initial.get(name, "0")
    return values


def changed_params(source: EditSource, sent: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(keys to set, keys to remove) of what differs between the form as drawn and as sent."""
    typed = with_checkboxes(source, sent)
    initial, cfg, kind = initial_values(source), source.config, source.guest.type
    updates: dict[str, str] = {}
    deletes: list[str] = []
    plain = (*(VM_FIELDS if kind == "qemu" else CT_FIELDS), *(CLOUD_INIT_FIELDS if kind == "qemu" else ()))
    for name in plain:
        if name in typed and typed[name].strip() != initial.get(name, ""):
            _set_or_delete(name, typed[name].strip(), cfg, updates, deletes)
    for flag in FLAGS:
        if ("1" if typed.get(flag) == "1" else "0") != initial.get(flag, "0"):
            updates[flag] = "1" if typed.get(flag) == "1" else "0"
    if kind == "qemu":
        _cloud_init(typed, initial, cfg, updates, deletes)
        for key in cdrom_keys(source):
            media = typed.get(f"{key}.media", initial[f"{key}.media"])
            if media != initial[f"{key}.media"]:
                updates[key] = f"{media or 'none'},media=cdrom"
    elif any(
        typed.get(f"features.{f}", "0") != initial[f"features.{f}"]
        for f in CT_FEATURES
        if f"features.{f}" in typed or initial[f"features.{f}"] == "1"
    ):
        others = {
            k: v
            for k, v in parse_property_string(str(cfg.get("features", ""))).items()
            if k not in CT_FEATURES
        }
        chosen = {f: "1" for f in CT_FEATURES if typed.get(f"features.{f}") == "1"}
        _set_or_delete(
            "features", ",".join(f"{k}={v}" for k, v in {**others, **chosen}.items()), cfg, updates, deletes
        )
    _nics(source, typed, updates, deletes)
    return updates, deletes


def _set_or_delete(
    key: str, value: str, cfg: Mapping[str, Any], updates: dict[str, str], deletes: list[str]
) -> None:
    if value:
        updates[key] = value
    elif key in cfg:
        deletes.append(key)


def _cloud_init(
    typed: Mapping[str, str],
    initial: dict[str, str],
    cfg: Mapping[str, Any],
    updates: dict[str, str],
    deletes: list[str],
) -> None:
    if typed.get("cipassword"):
        updates["cipassword"] = typed["cipassword"]
    keys = typed.get("sshkeys", initial["sshkeys"]).replace("\r\n", "\n").strip()
    if keys != initial["sshkeys"].strip():
        _set_or_delete("sshkeys", quote(keys + "\n", safe="") if keys else "", cfg, updates, deletes)
    for name in (n for n in typed if n.startswith("ipconfig") and n[8:].isdigit()):
        if typed[name].strip() != initial.get(name, ""):
            _set_or_delete(name, typed[name].strip(), cfg, updates, deletes)


def _nics(source: EditSource, typed: Mapping[str, str], updates: dict[str, str], deletes: list[str]) -> None:
    form = EditForm(source)
    for row in form.nics:
        if row.new:
            if typed.get(f"{row.key}.bridge"):
                updates[row.key] = _nic_line(form.kind, "", typed, row.key)
            continue
        old = str(source.config[row.key])
        if typed.get(f"{row.key}.remove") == "1":
            deletes.append(row.key)
        elif f"{row.key}.bridge" in typed:
            line = _nic_line(form.kind, old, typed, row.key)
            if parse_property_string(line, "model") != parse_property_string(old, "model"):
                updates[row.key] = line


def what_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Each key someone changed between two readings of a config, in words ('memory: 2048 → 4096')."""
    keys = sorted((set(before) | set(after)) - {"digest", "cipassword"})
    shown = lambda v: "(not set)" if v is None else text_of(v)  # noqa: E731
    return [
        f"{k}: {shown(before.get(k))} → {shown(after.get(k))}" for k in keys if before.get(k) != after.get(k)
    ]


def _is_checkbox(name: str) -> bool:
    return name in FLAGS or name.startswith("features.") or name.endswith((".firewall", ".remove"))


def kept_typing(drawn: EditSource, now: EditSource, sent: Mapping[str, str]) -> dict[str, str]:
    """The form over the config as it is now, with what the person changed in the stale one kept: fields they
    left alone show the other person's values, so saving again does not undo that change."""
    typed = with_checkboxes(drawn, sent)
    before = initial_values(drawn)
    kept = initial_values(now)
    for name in set(before) | set(typed):
        if _is_checkbox(name):
            mine = "1" if typed.get(name) == "1" else "0"
            if mine != before.get(name, "0"):
                kept[name] = mine
        elif name in typed and typed[name] != before.get(name, ""):
            kept[name] = typed[name]
    return kept
