"""A VM's config as qemu-server keeps it: GET answers with pending changes applied (current=0) and a digest of
the whole file, pending section and cloud-init record included; POST checks the digest before its qmconfig
task starts; a running VM takes what qemu-server hot-plugs at once (vmconfig_hotplug_pending) and keeps the
rest pending; GET/PUT .../cloudinit show and regenerate the cloud-init drive."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

from aiohttp import web
from fakepve import PveError, TaskError
from fakepve.routing import ok
from fakepve.server import USER, params

from pvesim.base import DemoBase

# qemu-server's words when the digest given is not the config's (API2/Qemu.pm, update_vm_api).
QM_CHANGED = "checksum mismatch (file change by other user?)"
# Applied to a running VM at once: $fast_plug_option and the cloud-init keys ($confdesc_cloudinit).
CLOUD_INIT = (
    "cicustom",
    "cipassword",
    "citype",
    "ciupgrade",
    "ciuser",
    "nameserver",
    "searchdomain",
    "sshkeys",
)
FAST_PLUG = (
    "description",
    "hookscript",
    "lock",
    "name",
    "onboot",
    "protection",
    "startup",
    "tags",
    *CLOUD_INIT,
)
IPCONFIG = re.compile(r"^ipconfig\d+$")
NET = re.compile(r"^net\d+$")


def is_fast_plug(key: str) -> bool:
    """True for a key qemu-server writes into a running VM's config at once."""
    return key in FAST_PLUG or bool(IPCONFIG.match(key))


def ci_tracked(key: str) -> bool:
    """True for what the cloud-init drive is made from (cloudinit_pending_properties)."""
    return key in CLOUD_INIT or key == "name" or bool(IPCONFIG.match(key) or NET.match(key))


def hotplug_features(config: dict[str, Any]) -> set[str]:
    """parse_hotplug_features: '1' is the default network,disk,usb; '0' is none."""
    value = str(config.get("hotplug", "1"))
    if value == "0":
        return set()
    return {"network", "disk", "usb"} if value == "1" else set(re.split(r"[,;\s]+", value))


def with_mac(line: str) -> str:
    """parse_net + print_net: a device given without a MAC address gets a random one (the model=MAC form)."""
    parts = line.split(",")
    model, sep, mac = parts[0].partition("=")
    if model == "model":
        model, sep, mac = mac, "", ""
    if sep and mac or any(p.startswith("macaddr=") for p in parts):
        return line
    mac = "BC:24:11:" + ":".join(f"{secrets.randbelow(256):02X}" for _ in range(3))
    return ",".join([f"{model}={mac}", *parts[1:]])


class QemuConfigMixin(DemoBase):
    """Mixin of DemoPve: qemu-server's config, pending section and cloud-init record."""

    def _routes_demo_cloudinit(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/nodes/{node}/qemu/{vmid}/cloudinit", self._demo_ci_get),
            ("PUT", "/nodes/{node}/qemu/{vmid}/cloudinit", self._demo_ci_put),
        ]

    def ci_record(self, vm: Any) -> dict[str, Any]:
        """The VM's [special:cloudinit] section: the values the drive was made from, of keys changed since."""
        records: dict[int, dict[str, Any]] = self.__dict__.setdefault("_ci_records", {})
        return records.setdefault(vm.vmid, {})

    def qm_digest(self, vm: Any) -> str:
        """The SHA1 of the whole config file: its pending section and cloud-init record change it too."""
        record = self.ci_record(vm)
        if not vm.pending and not record:
            return str(vm.digest())
        blob = json.dumps([vm.digest(), vm.pending, record], sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()  # noqa: S324 (a digest as PVE's, not a secret)

    async def _config_get(self, request: web.Request) -> web.Response:
        """The config with pending changes applied (current=0, the default), and the whole file's digest."""
        vm = self._vm(request, "VM.Audit")
        cfg = dict(vm.config)
        if str(request.query.get("current", "0")) not in ("1", "true"):
            for key, value in vm.pending.items():
                if value is None:
                    cfg.pop(key, None)
                else:
                    cfg[key] = value
        if "memory" in cfg:
            cfg["memory"] = str(cfg["memory"])
        cfg["digest"] = self.qm_digest(vm)
        return ok(cfg)

    async def _config_post(self, request: web.Request) -> web.Response:
        """POST .../config: the early checks answer at once (a stale digest too), the change runs as qmconfig."""
        p = await params(request)
        self._verify(request, p)
        vm = self._vm(request)
        user = request[USER]
        self.need_quorum()
        self._qm_early_checks(vm, p)

        async def body() -> None:
            try:
                await self._apply_config(vm, user, p)
            except PveError as e:
                raise TaskError(e.message) from e

        return ok(await self.task(vm.node, "qmconfig", vm.vmid, user, body))

    def _qm_early_checks(self, vm: Any, p: dict[str, Any]) -> None:
        """load_and_check_config: the digest, and a balloon larger than the memory."""
        if p.get("digest") and p["digest"] != self.qm_digest(vm):
            raise PveError(500, QM_CHANGED)
        if p.get("memory") or p.get("balloon") not in (None, ""):
            memory = p.get("memory") or vm.pending.get("memory") or vm.config.get("memory") or 512
            current = int(str(memory).split("=")[-1])
            balloon = p.get("balloon", vm.pending.get("balloon", vm.config.get("balloon")))
            if balloon not in (None, "") and int(balloon) > current:
                raise PveError(500, "balloon value too large (must be smaller than assigned memory)")

    async def _apply_config(self, vm: Any, user: str, p: dict[str, Any]) -> None:
        """fakepve's change, with qemu-server's digest and hot-plug rules for a running VM."""
        values = dict(p)
        self._qm_early_checks(vm, values)
        values.pop("digest", None)
        for key in [k for k in values if NET.match(k)]:
            values[key] = with_mac(str(values[key]))
        before = {**vm.config}
        await super()._apply_config(vm, user, values)
        if vm.status == "running":
            self._qm_hotplug(vm)
            self._qm_record(vm, before)

    def _qm_hotplug(self, vm: Any) -> None:
        """vmconfig_hotplug_pending: move into the config what a running VM takes at once."""
        features = hotplug_features(vm.config)
        for key in list(vm.pending):
            value = vm.pending[key]
            balloon_toggled = key == "balloon" and (str(vm.config.get("balloon", "1")) == "0") != (
                str(value) == "0"
            )
            at_once = (
                is_fast_plug(key)
                or (NET.match(key) and "network" in features)
                or (key == "memory" and "memory" in features)
                or (key == "balloon" and not balloon_toggled and value is not None)
            )
            if not at_once:
                continue
            del vm.pending[key]
            if value is None:
                vm.config.pop(key, None)
            else:
                vm.config[key] = value

    def _qm_record(self, vm: Any, before: dict[str, Any]) -> None:
        """$cloudinit_record_changed: keep the value the drive was made from of each key changed since."""
        record = self.ci_record(vm)
        added = set(filter(None, str(record.pop("added", "")).split(",")))
        for key in set(before) | set(vm.config):
            old, new = before.get(key), vm.config.get(key)
            if not ci_tracked(key) or old == new:
                continue
            if key in record or key in added:
                if new == record.get(key):
                    record.pop(key, None)
                if new is None:
                    added.discard(key)
            elif old is None:
                added.add(key)
            else:
                record[key] = old
        if added:
            record["added"] = ",".join(sorted(added))

    async def _demo_ci_get(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """GET .../cloudinit: each cloud-init value as the drive has it and as it will be."""
        vm = self.find(v["node"], v["vmid"])
        record = dict(self.ci_record(vm))
        conf = dict(vm.config)
        for secret in (conf, record):
            if "cipassword" in secret:
                secret["cipassword"] = "**********"
        added = [k for k in str(record.pop("added", "")).split(",") if k]
        found: list[dict[str, Any]] = [{"key": k, "pending": conf.get(k)} for k in added]
        for key in sorted(k for k in conf if ci_tracked(k) and k not in added and conf[k]):
            item = {"key": key, "value": record.get(key, conf[key])}
            if key in record:
                item["pending"] = conf[key]
            found.append(item)
        found += [{"key": k, "delete": 1} for k in record if not conf.get(k)]
        return found

    async def _demo_ci_put(self, v: dict[str, Any], user: str) -> None:
        """PUT .../cloudinit: regenerate the drive from the config; nothing is pending for it afterwards."""
        vm = self.find(v["node"], v["vmid"])
        if vm.lock:
            raise PveError(500, f"VM is locked ({vm.lock})")
        self.ci_record(vm).clear()
        return None
