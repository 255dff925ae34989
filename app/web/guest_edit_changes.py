"""What was typed into a guest's edit form, as the `configure` operation's parameters: only the keys whose value
changed, a network device keeping its MAC address; and a stale form drawn again over the config as it is now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from app.operations.config_changes import text_of
from app.operations.config_schema import parse_property_string
from app.services.cluster import EditSource
from app.web.guest_edit_form import (
    CLOUD_INIT_FIELDS,
    CT_FEATURES,
    CT_FIELDS,
    CT_NIC,
    FLAGS,
    NIC_MODELS,
    VM_FIELDS,
    VM_NIC,
    EditForm,
    cdrom_keys,
    checkbox_names,
    initial_values,
    mac_of,
    nic_model,
)


def _nic_line(kind: str, old: str, typed: Mapping[str, str], key: str) -> str:
    """The device's new property string: the typed parts over the old ones, its MAC address kept."""
    parts = parse_property_string(old, "model")
    if kind == "qemu":
        mac = mac_of(kind, old)
        model = typed.get(f"{key}.model") or nic_model(parts)
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
