"""Create a VM or a container, each with the next free VMID unless one is given."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk
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

VOLID = r"^[A-Za-z][A-Za-z0-9\-_.]*:[^\s,;]+$"
OSTYPES = ("l26", "win11", "win10", "win2022", "win2019", "other", "solaris")


class CreateVmParams(Params):
    """A new VM: where, how big, what to boot."""

    node: str = Field(..., pattern=NODE, max_length=63)
    vmid: int | None = Field(None, ge=100, le=999_999_999, description="Empty for the next free one")
    name: str = Field(..., pattern=DNS_NAME, max_length=63, description="A DNS name, e.g. web01")
    cores: int = Field(2, ge=1, le=512)
    sockets: int = Field(1, ge=1, le=4)
    memory: int = Field(2048, ge=16, le=4_194_304, description="MiB")
    disk_storage: str = Field(..., pattern=STORAGE, max_length=64)
    disk_size: int = Field(32, ge=1, le=131_072, description="GiB")
    iso: str | None = Field(
        None, pattern=VOLID, max_length=255, description="An ISO volume, e.g. local:iso/debian.iso"
    )
    bridge: str = Field("vmbr0", pattern=BRIDGE)
    ostype: Literal[OSTYPES] = "l26"  # type: ignore[valid-type]
    boot: Literal["disk", "cdrom"] = Field("disk", description="What to boot first")
    start: bool = False

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The VM this creates."""
        return self.node, "qemu", self.vmid, self.name


class CreateCtParams(Params):
    """A new container from a template."""

    node: str = Field(..., pattern=NODE, max_length=63)
    vmid: int | None = Field(None, ge=100, le=999_999_999, description="Empty for the next free one")
    hostname: str = Field(..., pattern=DNS_NAME, max_length=63)
    ostemplate: str = Field(
        ...,
        pattern=VOLID,
        max_length=255,
        description="e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    )
    rootfs_storage: str = Field(..., pattern=STORAGE, max_length=64)
    rootfs_size: int = Field(8, ge=1, le=131_072, description="GiB")
    memory: int = Field(512, ge=16, le=4_194_304, description="MiB")
    swap: int = Field(512, ge=0, le=4_194_304, description="MiB")
    cores: int = Field(1, ge=1, le=512)
    bridge: str = Field("vmbr0", pattern=BRIDGE)
    ip: str = Field("dhcp", description="'dhcp' or an address with prefix, e.g. 10.0.20.5/24")
    gateway: str | None = Field(None, description="Only with a static address")
    password: str | None = Field(None, min_length=5, max_length=256)
    ssh_public_keys: str | None = Field(None, max_length=16_384)
    unprivileged: bool = True
    start: bool = False

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The container this creates."""
        return self.node, "lxc", self.vmid, self.hostname

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        if value == "dhcp":
            return value
        try:
            return str(ipaddress.ip_interface(value))
        except ValueError:
            raise ValueError("use 'dhcp' or an address with its prefix length, e.g. 10.0.20.5/24") from None

    @model_validator(mode="after")
    def _gateway(self) -> CreateCtParams:
        if self.gateway:
            if self.ip == "dhcp":
                raise ValueError("a gateway only goes with a static address")
            gateway = ipaddress.ip_address(self.gateway)
            if gateway not in ipaddress.ip_interface(self.ip).network:
                raise ValueError(f"gateway {gateway} is not in {ipaddress.ip_interface(self.ip).network}")
        return self


async def _preflight_vm(ctx: Context, params: CreateVmParams) -> list[str]:
    await online_node(ctx.pve, params.node)
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
        "scsihw": "virtio-scsi-single",
        "agent": "1",
        "scsi0": f"{params.disk_storage}:{params.disk_size}",
        "net0": f"virtio,bridge={params.bridge}",
        "boot": "order=" + ";".join(order),
        # The client leaves out None: unset options are not sent at all.
        "ide2": f"{params.iso},media=cdrom" if params.iso else None,
        "start": 1 if params.start else None,
    }
    return str(await ctx.pve.post(f"/nodes/{params.node}/qemu", **values))


async def _preflight_ct(ctx: Context, params: CreateCtParams) -> list[str]:
    await online_node(ctx.pve, params.node)
    await storage_for(ctx.pve, params.node, params.rootfs_storage, "rootdir", "rootfs_storage")
    await volume_exists(ctx.pve, params.node, params.ostemplate, "vztmpl", "ostemplate")
    params.vmid = await free_vmid(ctx.pve, params.vmid)
    if not params.password and not params.ssh_public_keys:
        return ["No password and no SSH key: you can only get in through the Proxmox console (pct enter)."]
    return []


async def _create_ct(ctx: Context, params: CreateCtParams) -> str | None:
    net = f"name=eth0,bridge={params.bridge},ip={params.ip}" + (
        f",gw={params.gateway}" if params.gateway else ""
    )
    values: dict[str, object] = {
        "vmid": params.vmid,
        "hostname": params.hostname,
        "ostemplate": params.ostemplate,
        "rootfs": f"{params.rootfs_storage}:{params.rootfs_size}",
        "memory": params.memory,
        "swap": params.swap,
        "cores": params.cores,
        "net0": net,
        "unprivileged": 1 if params.unprivileged else 0,
        # The client leaves out None: unset options are not sent at all.
        "password": params.password or None,
        "ssh-public-keys": params.ssh_public_keys or None,
        "start": 1 if params.start else None,
    }
    return str(await ctx.pve.post(f"/nodes/{params.node}/lxc", **values))


def _describe_vm(guest: Guest | None, p: CreateVmParams) -> str:
    return (
        f"Create VM {p.vmid or '(next free id)'} {p.name} on {p.node}: {p.cores * p.sockets} vCPU, "
        f"{p.memory} MiB, {p.disk_size} GiB on {p.disk_storage}" + (f", ISO {p.iso}" if p.iso else "")
    )


def _describe_ct(guest: Guest | None, p: CreateCtParams) -> str:
    return (
        f"Create CT {p.vmid or '(next free id)'} {p.hostname} on {p.node} from {p.ostemplate.split('/')[-1]}: "
        f"{p.cores} cores, {p.memory} MiB, {p.rootfs_size} GiB on {p.rootfs_storage}, ip {p.ip}"
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
)
CREATE_CT = Operation(
    "create-ct",
    "Create container",
    "cluster",
    Risk.reversible,
    CreateCtParams,
    _describe_ct,
    _create_ct,
    preflight=_preflight_ct,
    task_type=lambda guest, p: "vzcreate",
)
