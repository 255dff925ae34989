"""Edit a guest's configuration: the keys to change as Proxmox names them, `delete` and `digest`. Reversible,
unless it removes something (a device, a disk or mount point, protection, SSH keys): then destructive."""

from __future__ import annotations

from typing import Any

from app.operations.base import (
    ChangedMeanwhile,
    Context,
    Guest,
    InvalidParameter,
    Operation,
    Preview,
    Refused,
    Risk,
)
from app.operations.checks import not_locked, require_guest
from app.operations.config_changes import Change, changes_of, removals
from app.operations.config_schema import check_value, parse_property_string, schema_key
from app.operations.configure_params import ConfigureParams
from app.operations.forms import Form
from app.operations.network import node_bridges
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, one_line

CLOUD_INIT = frozenset({"ciuser", "cipassword", "sshkeys", "nameserver", "searchdomain", "citype"})
# What qemu-server applies to a running VM at once (its fast_plug_option and cloud-init keys); the rest
# waits in [PENDING] unless hot-plugged (vmconfig_hotplug_pending).
QEMU_AT_ONCE = frozenset({"name", "description", "onboot", "protection", "startup", "tags", "balloon"})
# What pve-container applies to a running container at once (vmconfig_hotplug_pending).
LXC_AT_ONCE = frozenset(
    {"hostname", "description", "onboot", "protection", "startup", "tags", "cores", "memory", "swap"}
)
STALE = ("checksum mismatch", "detected modified configuration")


def is_cloud_init(key: str) -> bool:
    """True for a cloud-init key (ciuser, ipconfig0, ...)."""
    return key in CLOUD_INIT or key.startswith("ipconfig")


def is_stale(message: str) -> bool:
    """True when Proxmox refused an edit because the config changed since its digest was read."""
    return any(words in message for words in STALE)


def hotplug(guest: Guest) -> set[str]:
    """The VM's hot-plug features (qemu-server's default: network, disk, usb)."""
    value = str(guest.config.get("hotplug", "1"))
    if value == "0":
        return set()
    return {"network", "disk", "usb"} if value == "1" else set(value.replace(";", ",").split(","))


def waits_for_reboot(guest: Guest, key: str) -> bool:
    """True when Proxmox keeps this change pending until the running guest is rebooted through it."""
    if guest.status != "running":
        return False
    if guest.type == "lxc":
        return key not in LXC_AT_ONCE and not key.startswith(("net", "mp"))
    if key in QEMU_AT_ONCE or is_cloud_init(key):
        return False
    if key.startswith("net"):
        return "network" not in hotplug(guest)
    if key.startswith("ide") and "media=cdrom" in str(guest.config.get(key, "")):
        return False
    return not (key == "memory" and "memory" in hotplug(guest))


def changes(guest: Guest, params: ConfigureParams) -> list[Change]:
    """Each key the edit changes, with its value before and after."""
    return changes_of(guest, params.updates(), params.deletes())


def _check_keys(guest: Guest, params: ConfigureParams) -> None:
    for key, value in params.updates().items():
        if schema_key(guest.type, key) is None:
            what = "VMs" if guest.type == "qemu" else "containers"
            raise InvalidParameter(f"{key}: Proxgate does not change this key of {what}.", field=key)
        problem = check_value(guest.type, key, value)
        if problem:
            raise InvalidParameter(f"{key}: {problem}", field=key)
        if key.startswith("ide") and "media=cdrom" not in str(value):
            raise InvalidParameter(f"{key}: only CD-ROM drives (media=cdrom) are changed here.", field=key)
    for key in params.deletes():
        if key in params.updates():
            raise InvalidParameter(f"delete: {key} is both set and removed.", field="delete")
        if schema_key(guest.type, key) is None and not _detachable(guest, key):
            raise InvalidParameter(f"delete: Proxgate does not remove the key {key}.", field="delete")


def _detachable(guest: Guest, key: str) -> bool:
    """A disk or mount point may be detached (its volume is kept as unused); unused volumes are not deleted."""
    prefixes = ("scsi", "virtio", "sata") if guest.type == "qemu" else ("mp",)
    return key.startswith(prefixes) and key[len(key.rstrip("0123456789")) :].isdigit()


def _check_values(guest: Guest, params: ConfigureParams) -> None:
    updates = params.updates()
    if guest.type == "qemu" and ("balloon" in updates or "memory" in updates):
        memory = updates.get("memory", guest.config.get("memory", 512))
        current = int(parse_property_string(str(memory), "current").get("current", 512))
        balloon = int(updates.get("balloon", guest.config.get("balloon", 0)) or 0)
        if balloon > current:
            raise InvalidParameter(
                "balloon: balloon value too large (must be smaller than assigned memory)", field="balloon"
            )
    if guest.type == "lxc" and "features" in updates and str(guest.config.get("unprivileged", "0")) != "1":
        raise InvalidParameter(
            "features: only root@pam may change the features of a privileged container.", field="features"
        )


async def _check_bridges(pve: PveClient, guest: Guest, params: ConfigureParams) -> None:
    """A network device on a bridge the node lacks would be accepted, and the guest then fail to start."""
    wanted = {
        key: parse_property_string(str(value)).get("bridge")
        for key, value in params.updates().items()
        if key.startswith("net")
    }
    if not any(wanted.values()):
        return
    bridges = await node_bridges(pve, guest.node)
    for key, bridge in wanted.items():
        if bridge and bridge not in bridges:
            offer = ", ".join(bridges) or "none"
            raise InvalidParameter(
                f"{key}: node {guest.node} has no bridge {bridge}; it has: {offer}.", field=key
            )


async def _preflight(ctx: Context, params: ConfigureParams) -> list[str]:
    guest = require_guest(ctx)
    not_locked(guest)
    _check_keys(guest, params)
    _check_values(guest, params)
    await _check_bridges(ctx.pve, guest, params)
    found = changes(guest, params)
    if not found:
        raise Refused(f"{guest.label} has these values already: nothing to change.")
    later = [c.key for c in found if waits_for_reboot(guest, c.key)]
    warnings = []
    if later:
        warnings.append(
            f"{', '.join(later)}: Proxmox keeps this pending until {guest.label} is rebooted through Proxmox."
        )
    if any(is_cloud_init(c.key) for c in found) and not has_cloud_init_drive(guest):
        warnings.append(
            f"{guest.label} has no cloud-init drive: nothing reads these values until one is added."
        )
    return warnings


def has_cloud_init_drive(guest: Guest) -> bool:
    """True when one of the VM's drives is its cloud-init drive."""
    return any("cloudinit" in str(v) for k, v in guest.config.items() if k[:3] in ("ide", "sat", "scs"))


async def _preview(ctx: Context, params: ConfigureParams) -> Preview:
    guest = require_guest(ctx)
    found = changes(guest, params)
    return Preview(
        facts=[(c.key, f"{c.shown(c.before)} → {c.shown(c.after)}") for c in found],
        losses=removals(found),
        notes=[f"{c.key} waits for a reboot" for c in found if waits_for_reboot(guest, c.key)],
        data={"changes": {c.key: c.as_json() for c in found}},
    )


def _risk(guest: Guest | None, params: ConfigureParams) -> Risk:
    if guest is None:
        return Risk.reversible
    return Risk.destructive if removals(changes(guest, params)) else Risk.reversible


def _record(guest: Guest | None, params: ConfigureParams) -> dict[str, Any]:
    if guest is None:
        return {}
    return {"changes": {c.key: c.as_json() for c in changes(guest, params)}}


def _body(params: ConfigureParams) -> dict[str, Any]:
    body: dict[str, Any] = {k: (int(v) if isinstance(v, bool) else v) for k, v in params.updates().items()}
    if params.deletes():
        body["delete"] = ",".join(params.deletes())
    if params.digest:
        body["digest"] = params.digest
    return body


async def _configure(ctx: Context, params: ConfigureParams) -> str | None:
    try:
        return await _send(ctx, params)
    except PveError as exc:
        if is_stale(exc.message):
            raise ChangedMeanwhile(one_line(exc.message), field="digest") from None
        raise


async def _send(ctx: Context, params: ConfigureParams) -> str | None:
    guest = require_guest(ctx)
    path = guest.paths.config
    if guest.type == "lxc":
        await ctx.pve.put(path, **_body(params))
        return None
    keys = [*params.updates(), *params.deletes()]
    if not any(is_cloud_init(k) for k in keys) or not has_cloud_init_drive(guest):
        # POST: qemu-server's asynchronous form, a qmconfig task the watcher follows.
        answer = await ctx.pve.post(path, **_body(params))
        return str(answer) if answer else None
    # The cloud-init drive is regenerated from the new values, so the change must be made first (PUT).
    await ctx.pve.put(path, **_body(params))
    await ctx.pve.put(guest.paths.cloudinit)
    return None


def _describe(guest: Guest | None, params: ConfigureParams) -> str:
    keys = [*params.updates(), *params.deletes()]
    if guest is None:
        return f"Change {', '.join(keys)}"
    found = changes(guest, params)
    shown = [c.key for c in found] or keys
    return f"Change {', '.join(shown)} of {guest.label}"


def _task_type(guest: Guest | None, params: ConfigureParams) -> str | None:
    if guest is None or guest.type == "lxc":
        return None
    keys = [*params.updates(), *params.deletes()]
    return None if any(is_cloud_init(k) for k in keys) and has_cloud_init_drive(guest) else "qmconfig"


CONFIGURE = Operation(
    "configure",
    "Edit configuration",
    "guest",
    Risk.reversible,
    ConfigureParams,
    _describe,
    _configure,
    preflight=_preflight,
    available=lambda g: not g.template,
    preview=_preview,
    target_key=lambda guest, p: f"guest:{guest.vmid if guest else ''}:config",
    task_type=_task_type,
    reads_config=True,
    risk_of=_risk,
    record=_record,
    about="Sets config keys as Proxmox names them (`memory`, `net1`, `ipconfig0`, ...) and removes those in "
    "`delete`; `digest` makes Proxmox refuse when the config changed since it was read. Destructive (needs "
    "approval) when it removes a network device, a disk or mount point, protection or SSH keys. Refused for "
    "keys it does not change, invalid values and locked guests.",
    form=Form(fields=False),
)
