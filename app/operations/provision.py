"""Create a VM, with the next free VMID unless one is given; Windows 11 gets the UEFI and TPM its setup needs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk
from app.operations.forms import Widget
from app.operations.network import bridge_on
from app.operations.placement import (
    BRIDGE,
    DNS_NAME,
    NODE,
    STORAGE,
    free_vmid,
    online_node,
    storage_for,
    volume_exists,
)
from app.proxmox.paths import NodePath

VOLID = r"^[A-Za-z][A-Za-z0-9\-_.]*:[^\s,;]+$"
# PVE's ostype enumeration (POST /nodes/{node}/qemu), each with the systems it stands for.
OSTYPES = {
    "l26": "Linux (kernel 2.6 to 6.x)",
    "win11": "Windows 11, Server 2022, Server 2025",
    "win10": "Windows 10, Server 2016, Server 2019",
    "win8": "Windows 8, Server 2012, Server 2012 R2",
    "win7": "Windows 7",
    "wvista": "Windows Vista",
    "w2k8": "Windows Server 2008",
    "w2k3": "Windows Server 2003",
    "w2k": "Windows 2000",
    "wxp": "Windows XP",
    "l24": "Linux (kernel 2.4)",
    "solaris": "Solaris, OpenSolaris, OpenIndiana",
    "other": "Other",
}
NO_NODE = "No node is online."
# The CPU types offered: the GUI's default, which migrates between any recent x86 hosts, and the host's own.
CPU_TYPES = (
    ("x86-64-v2-AES", "x86-64-v2-AES (moves between nodes)"),
    ("host", "host (fastest; moves only between identical CPUs)"),
)
CpuType = Literal["x86-64-v2-AES", "host"]
OsType = Literal[
    "l26", "win11", "win10", "win8", "win7", "wvista", "w2k8", "w2k3", "w2k", "wxp", "l24", "solaris", "other"
]


class CreateVmParams(Params):
    """A new VM: where, how big, what to boot."""

    node: Annotated[str, Widget(choices="nodes", empty=NO_NODE)] = Field(
        ..., pattern=NODE, max_length=63, title="Node"
    )
    name: Annotated[str, Widget(verbatim=True)] = Field(
        ..., pattern=DNS_NAME, max_length=63, title="Name", description="A DNS name, e.g. web01"
    )
    cores: int = Field(2, ge=1, le=512, title="Cores")
    sockets: int = Field(1, ge=1, le=4, title="Sockets")
    memory: int = Field(2048, ge=16, le=4_194_304, title="Memory (MiB)", description="MiB")
    disk_storage: Annotated[str, Widget(choices="image-storages", empty="No storage takes VM disks.")] = (
        Field(..., pattern=STORAGE, max_length=64, title="Disk storage")
    )
    disk_size: int = Field(32, ge=1, le=131_072, title="Disk size (GiB)", description="GiB")
    iso: Annotated[str | None, Widget(choices="isos", blank="none")] = Field(
        None,
        pattern=VOLID,
        max_length=255,
        title="ISO image",
        description="An ISO volume, e.g. local:iso/debian.iso",
    )
    ostype: Annotated[OsType, Widget(options=tuple(OSTYPES.items()))] = Field(
        "l26", title="OS type", description="; ".join(f"{k}: {v}" for k, v in OSTYPES.items())
    )
    cpu: Annotated[CpuType, Widget(options=CPU_TYPES)] = Field(
        "x86-64-v2-AES", title="CPU type", description="x86-64-v2-AES (moves between nodes) or host"
    )
    boot: Annotated[
        Literal["disk", "cdrom"],
        Widget(options=(("disk", "disk first"), ("cdrom", "CD-ROM first (to install)"))),
    ] = Field("disk", title="Boot from", description="What to boot first")
    bridge: Annotated[str, Widget(choices="bridges")] = Field("vmbr0", pattern=BRIDGE, title="Bridge")
    start: bool = Field(False, title="Start after creating")
    vmid: Annotated[int | None, Widget(placeholder="next free")] = Field(
        None, ge=100, le=999_999_999, title="VMID", description="Empty for the next free one"
    )

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The VM this creates."""
        return self.node, "qemu", self.vmid, self.name


async def _preflight_vm(ctx: Context, params: CreateVmParams) -> list[str]:
    await online_node(ctx.pve, params.node)
    await bridge_on(ctx.pve, params.node, params.bridge)
    await storage_for(ctx.pve, params.node, params.disk_storage, "images", "disk_storage")
    if params.iso:
        await volume_exists(ctx.pve, params.node, params.iso, "iso", "iso")
    elif params.boot == "cdrom":
        raise Refused("Booting from CD-ROM needs an ISO image.", field="iso")
    params.vmid = await free_vmid(ctx.pve, params.vmid)
    return []


async def _create_vm(ctx: Context, params: CreateVmParams) -> str | None:
    order = ["scsi0", "ide2", "net0"] if params.iso else ["scsi0", "net0"]
    if params.boot == "cdrom":
        order = ["ide2", "scsi0", "net0"]
    values: dict[str, object] = {
        "vmid": params.vmid,
        "name": params.name,
        "cores": params.cores,
        "sockets": params.sockets,
        "memory": params.memory,
        "ostype": params.ostype,
        "cpu": params.cpu,
        "scsihw": "virtio-scsi-single",
        "agent": "1",
        "scsi0": f"{params.disk_storage}:{params.disk_size}",
        "net0": f"virtio,bridge={params.bridge}",
        "boot": "order=" + ";".join(order),
        # The client leaves out None: unset options are not sent at all.
        "ide2": f"{params.iso},media=cdrom" if params.iso else None,
        "start": 1 if params.start else None,
        **(windows11(params.disk_storage) if params.ostype == "win11" else {}),
    }
    return str(await ctx.pve.post(NodePath(params.node).guests("qemu"), **values))


def windows11(storage: str) -> dict[str, object]:
    """What Windows 11 setup insists on, as the Proxmox wizard sets it for ostype win11: UEFI (OVMF) with an
    EFI vars disk (4m, Microsoft keys enrolled for Secure Boot), a TPM 2.0 state disk, and the q35 machine."""
    return {
        "bios": "ovmf",
        "machine": "q35",
        "efidisk0": f"{storage}:1,efitype=4m,pre-enrolled-keys=1",
        "tpmstate0": f"{storage}:1,version=v2.0",
    }


def _describe_vm(guest: Guest | None, p: CreateVmParams) -> str:
    return (
        f"Create VM {p.vmid or '(next free id)'} {p.name} on {p.node}: {p.cores * p.sockets} vCPU, "
        f"{p.memory} MiB, {p.disk_size} GiB on {p.disk_storage}"
        + (", UEFI and TPM 2.0" if p.ostype == "win11" else "")
        + (f", ISO {p.iso}" if p.iso else "")
    )


CREATE_VM = Operation(
    "create-vm",
    "Create VM",
    "cluster",
    Risk.reversible,
    CreateVmParams,
    _describe_vm,
    _create_vm,
    preflight=_preflight_vm,
    task_type=lambda guest, p: "qmcreate",
    about="Creates VM `name` on `node` (`vmid` the next free one by default): `cores`, `memory` MiB, a "
    "`disk_size` GiB disk on `disk_storage`, an `iso` to install from, on `bridge`, CPU type `cpu`; `ostype` "
    "win11 adds UEFI, an EFI disk, a TPM 2.0 state and q35. Refused for an offline node, "
    "a bridge, storage or ISO the node does not have, or a VMID in use.",
)
