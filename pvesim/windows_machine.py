"""Creating a Windows VM pins its machine version, as Proxmox does (fakepve keeps 'q35' as given).

qemu-server's create_vm calls Machine::check_and_pin_machine_string: for a Windows ostype
(Helpers::windows_version) and no machine, 'pc', 'q35' or 'virt', the machine becomes the newest version the
installed QEMU runs (latest_installed_machine_version), e.g. 'pc-q35-10.0+pve1', so a QEMU update does not
change the hardware Windows sees.
"""

from __future__ import annotations

import re
from typing import Any

from fakepve.qemu import QEMU_VERSION

from pvesim.base import DemoBase

WINDOWS = re.compile(r"^(?:wxp|w2k|w2k3|w2k8|wvista|win\d+)$")
# Machine::PVE_MACHINE_VERSION: the highest +pveN revision of each QEMU machine version that has one.
PVE_REVISIONS = {"4.1": 2, "9.2": 1, "10.0": 1, "11.0": 2}
MACHINE_PREFIX = {"pc": "pc-i440fx", "q35": "pc-q35", "virt": "virt"}


def pinned_machine(machine: str | None, ostype: str | None) -> str | None:
    """The machine string Proxmox writes for a new VM, or None when it keeps the one given."""
    if not WINDOWS.match(ostype or ""):
        return None
    parts = [p for p in (machine or "").split(",") if p]
    kind = next((p.partition("=")[2] for p in parts if p.startswith("type=")), None)
    if kind is None and parts and "=" not in parts[0]:
        kind = parts[0]
    kind = kind or "pc"
    if kind not in MACHINE_PREFIX:
        return None
    version = ".".join(QEMU_VERSION.split(".")[:2])
    revision = PVE_REVISIONS.get(version, 0)
    pinned = f"{MACHINE_PREFIX[kind]}-{version}" + (f"+pve{revision}" if revision else "")
    rest = [p for p in parts if "=" in p and not p.startswith("type=")]
    return ",".join([pinned, *rest])


class WindowsMachineMixin(DemoBase):
    """Mixin of DemoPve: POST /nodes/{node}/qemu pins a Windows VM's machine version."""

    async def _qm_create(self, v: dict[str, Any], user: str) -> str:
        if not v.get("archive"):
            pinned = pinned_machine(v.get("machine"), v.get("ostype"))
            if pinned:
                v = {**v, "machine": pinned}
        return str(await super()._qm_create(v, user))
