"""Create a VM or a container, each with the next free VMID unless one is given."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk
from app.operations.forms import Widget
from app.operations.network import Ipv4Mode, Ipv6Mode, bridge_on, gateway_address, static_address
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
IPV4_MODES = (("dhcp", "DHCP"), ("static", "static address"), ("manual", "set inside the container"))
IPV6_MODES = (
    ("none", "none"),
    ("auto", "SLAAC (automatic)"),
    ("dhcp", "DHCPv6"),
    ("static", "static address"),
    ("manual", "set inside the container"),
)
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


class CreateCtParams(Params):
    """A new container from a template."""

    node: Annotated[str, Widget(choices="nodes", empty=NO_NODE)] = Field(
        ..., pattern=NODE, max_length=63, title="Node"
    )
    hostname: Annotated[str, Widget(verbatim=True)] = Field(
        ..., pattern=DNS_NAME, max_length=63, title="Hostname"
    )
    ostemplate: Annotated[
        str,
        Widget(
            choices="ct-templates", empty="No storage holds a container template: download one in Proxmox."
        ),
    ] = Field(
        ...,
        pattern=VOLID,
        max_length=255,
        title="Template",
        description="e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    )
    rootfs_storage: Annotated[
        str, Widget(choices="rootdir-storages", empty="No storage takes container root disks.")
    ] = Field(..., pattern=STORAGE, max_length=64, title="Root disk storage")
    rootfs_size: int = Field(8, ge=1, le=131_072, title="Root disk size (GiB)", description="GiB")
    memory: int = Field(512, ge=16, le=4_194_304, title="Memory (MiB)", description="MiB")
    swap: int = Field(512, ge=0, le=4_194_304, title="Swap (MiB)", description="MiB")
    cores: int = Field(1, ge=1, le=512, title="Cores")
    bridge: Annotated[str, Widget(choices="bridges")] = Field("vmbr0", pattern=BRIDGE, title="Bridge")
    ipv4: Annotated[Ipv4Mode, Widget(group="IPv4", options=IPV4_MODES)] = Field(
        "dhcp", title="IPv4 from", description="dhcp, static (give ip) or manual (set inside the guest)"
    )
    ip: Annotated[str | None, Widget(group="IPv4", placeholder="10.0.20.5/24", verbatim=True)] = Field(
        None,
        max_length=64,
        validate_default=True,
        title="IPv4 address",
        description="Static IPv4 address with prefix: 10.0.20.5/24",
    )
    gateway: Annotated[
        str | None, Widget(group="IPv4", placeholder="10.0.20.1 (static only)", verbatim=True)
    ] = Field(
        None,
        max_length=64,
        validate_default=True,
        title="IPv4 gateway",
        description="IPv4 gateway, only with a static address",
    )
    ipv6: Annotated[Ipv6Mode, Widget(group="IPv6", options=IPV6_MODES)] = Field(
        "none", title="IPv6 from", description="none, auto (SLAAC), dhcp, static (give ip6) or manual"
    )
    ip6: Annotated[str | None, Widget(group="IPv6", placeholder="fd00:20::5/64", verbatim=True)] = Field(
        None,
        max_length=64,
        validate_default=True,
        title="IPv6 address",
        description="Static IPv6 address with prefix: fd00:20::5/64",
    )
    gateway6: Annotated[
        str | None, Widget(group="IPv6", placeholder="fd00:20::1 (static only)", verbatim=True)
    ] = Field(
        None,
        max_length=64,
        validate_default=True,
        title="IPv6 gateway",
        description="IPv6 gateway, only with a static address",
    )
    password: Annotated[str | None, Widget(control="password")] = Field(
        None, min_length=5, max_length=256, title="Root password"
    )
    ssh_public_keys: Annotated[str | None, Widget(control="textarea")] = Field(
        None, max_length=16_384, title="SSH public keys"
    )
    unprivileged: Annotated[
        bool, Widget(control="select", options=(("true", "unprivileged (safer)"), ("false", "privileged")))
    ] = Field(True, title="Privileges")
    start: bool = Field(False, title="Start after creating")
    vmid: Annotated[int | None, Widget(placeholder="next free")] = Field(
        None, ge=100, le=999_999_999, title="VMID", description="Empty for the next free one"
    )

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """The container this creates."""
        return self.node, "lxc", self.vmid, self.hostname

    @model_validator(mode="before")
    @classmethod
    def _modes(cls, data: Any) -> Any:
        # As PVE's own ip=/ip6= values: 'dhcp', 'manual' or 'auto' name the mode, an address means static.
        if isinstance(data, dict):
            data = dict(data)
            for mode, field in (("ipv4", "ip"), ("ipv6", "ip6")):
                value = data.get(field)
                if isinstance(value, str) and value.strip().lower() in ("dhcp", "manual", "auto"):
                    data.setdefault(mode, value.strip().lower())
                    data.pop(field)
                elif value and mode not in data:
                    data[mode] = "static"
        return data

    @field_validator("ip", "ip6")
    @classmethod
    def _static(cls, value: str | None, info: ValidationInfo) -> str | None:
        version, mode = (4, info.data.get("ipv4")) if info.field_name == "ip" else (6, info.data.get("ipv6"))
        if value is None:
            if mode == "static":
                raise ValueError("give the address with its prefix length for a static address")
            return None
        if mode != "static":
            raise ValueError(f"an address only goes with 'static'; IPv{version} is '{mode}'")
        return static_address(value, version)

    @field_validator("gateway", "gateway6")
    @classmethod
    def _gateway(cls, value: str | None, info: ValidationInfo) -> str | None:
        version, mode, address = (
            (4, info.data.get("ipv4"), info.data.get("ip"))
            if info.field_name == "gateway"
            else (6, info.data.get("ipv6"), info.data.get("ip6"))
        )
        if value is None:
            return None
        # Decided by the mode: a static address that was itself refused is missing from info.data, and its
        # own message says why; the gateway is checked against it once it is right.
        if mode is not None and mode != "static":
            raise ValueError(f"a gateway only goes with a static address; IPv{version} is '{mode}'")
        return gateway_address(value, version, address) if address is not None else value

    def net0(self) -> str:
        """The net0 property string; every value in it has been checked character by character."""
        parts = [f"name=eth0,bridge={self.bridge}", f"ip={self.ip or self.ipv4}"]
        parts += [f"gw={self.gateway}"] if self.gateway else []
        if self.ipv6 != "none":
            parts += [f"ip6={self.ip6 or self.ipv6}"] + ([f"gw6={self.gateway6}"] if self.gateway6 else [])
        return ",".join(parts)


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
        "scsihw": "virtio-scsi-single",
        "agent": "1",
        "scsi0": f"{params.disk_storage}:{params.disk_size}",
        "net0": f"virtio,bridge={params.bridge}",
        "boot": "order=" + ";".join(order),
        # The client leaves out None: unset options are not sent at all.
        "ide2": f"{params.iso},media=cdrom" if params.iso else None,
        "start": 1 if params.start else None,
    }
    return str(await ctx.pve.post(NodePath(params.node).guests("qemu"), **values))


async def _preflight_ct(ctx: Context, params: CreateCtParams) -> list[str]:
    await online_node(ctx.pve, params.node)
    await bridge_on(ctx.pve, params.node, params.bridge)
    await storage_for(ctx.pve, params.node, params.rootfs_storage, "rootdir", "rootfs_storage")
    await volume_exists(ctx.pve, params.node, params.ostemplate, "vztmpl", "ostemplate")
    params.vmid = await free_vmid(ctx.pve, params.vmid)
    if not params.password and not params.ssh_public_keys:
        return ["No password and no SSH key: you can only get in through the Proxmox console (pct enter)."]
    return []


async def _create_ct(ctx: Context, params: CreateCtParams) -> str | None:
    values: dict[str, object] = {
        "vmid": params.vmid,
        "hostname": params.hostname,
        "ostemplate": params.ostemplate,
        "rootfs": f"{params.rootfs_storage}:{params.rootfs_size}",
        "memory": params.memory,
        "swap": params.swap,
        "cores": params.cores,
        "net0": params.net0(),
        "unprivileged": 1 if params.unprivileged else 0,
        # The client leaves out None: unset options are not sent at all.
        "password": params.password or None,
        "ssh-public-keys": params.ssh_public_keys or None,
        "start": 1 if params.start else None,
    }
    return str(await ctx.pve.post(NodePath(params.node).guests("lxc"), **values))


def _describe_vm(guest: Guest | None, p: CreateVmParams) -> str:
    return (
        f"Create VM {p.vmid or '(next free id)'} {p.name} on {p.node}: {p.cores * p.sockets} vCPU, "
        f"{p.memory} MiB, {p.disk_size} GiB on {p.disk_storage}" + (f", ISO {p.iso}" if p.iso else "")
    )


def _describe_ct(guest: Guest | None, p: CreateCtParams) -> str:
    return (
        f"Create CT {p.vmid or '(next free id)'} {p.hostname} on {p.node} from {p.ostemplate.split('/')[-1]}: "
        f"{p.cores} cores, {p.memory} MiB, {p.rootfs_size} GiB on {p.rootfs_storage}, {p.net0().partition(',ip=')[2] or 'no address'}"
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
    "`disk_size` GiB disk on `disk_storage`, an `iso` to install from, on `bridge`. Refused for an offline node, "
    "a bridge, storage or ISO the node does not have, or a VMID in use.",
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
    about="Creates container `hostname` on `node` from template `ostemplate`, its root disk on `rootfs_storage`, "
    "its address by DHCP, static (`ip`, `gateway`; `ip6`, `gateway6`) or set inside. Refused for an offline "
    "node, a bridge, storage or template the node does not have, or a VMID in use.",
)
