"""Create a container from a template, with the next free VMID unless one is given."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from app.operations.addresses import unique_addresses
from app.operations.base import Context, Guest, Operation, Params, Risk
from app.operations.forms import Widget
from app.operations.network import (
    Ipv4Mode,
    Ipv6Mode,
    bridge_on,
    dns_servers,
    gateway_address,
    static_address,
)
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
from app.operations.provision import NO_NODE, VOLID
from app.proxmox.paths import NodePath

IPV4_MODES = (("dhcp", "DHCP"), ("static", "static address"), ("manual", "set inside the container"))
IPV6_MODES = (
    ("none", "none"),
    ("auto", "SLAAC (automatic)"),
    ("dhcp", "DHCPv6"),
    ("static", "static address"),
    ("manual", "set inside the container"),
)


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
    tag: Annotated[int | None, Widget(placeholder="none")] = Field(
        None, ge=1, le=4094, title="VLAN tag", description="The VLAN of its network interface (1-4094)"
    )
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
    # Right after the addresses: a form asks for it beside them once a refusal names it.
    allow_ip_reuse: Annotated[bool, Widget(confirmation=True)] = Field(
        False,
        title="Use the address although another guest has it",
        description="Create it even though another guest holds its static ip or ip6",
    )
    nameserver: Annotated[str | None, Widget(placeholder="the node's", verbatim=True)] = Field(
        None,
        max_length=255,
        title="DNS servers",
        description="Addresses separated by spaces, e.g. 10.0.20.1 1.1.1.1; the node's when empty",
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
    nesting: bool = Field(
        False,
        title="Nesting (containers inside it, e.g. Docker)",
        description="Lets it run containers or a recent systemd inside; unprivileged containers only",
    )
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

    @field_validator("nameserver")
    @classmethod
    def _nameserver(cls, value: str | None) -> str | None:
        return dns_servers(value) if value else None

    @field_validator("nesting")
    @classmethod
    def _nesting(cls, value: bool, info: ValidationInfo) -> bool:
        # check_ct_modify_config_perm: feature flags of a privileged container are root@pam's alone.
        if value and info.data.get("unprivileged") is False:
            raise ValueError("nesting is only for unprivileged containers")
        return value

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
        parts += [f"tag={self.tag}"] if self.tag else []
        return ",".join(parts)


async def _preflight_ct(ctx: Context, params: CreateCtParams) -> list[str]:
    await online_node(ctx.pve, params.node)
    await bridge_on(ctx.pve, params.node, params.bridge)
    await storage_for(ctx.pve, params.node, params.rootfs_storage, "rootdir", "rootfs_storage")
    await volume_exists(ctx.pve, params.node, params.ostemplate, "vztmpl", "ostemplate")
    params.vmid = await free_vmid(ctx.pve, params.vmid)
    static = {address: field for field, address in (("ip", params.ip), ("ip6", params.ip6)) if address}
    warnings = await unique_addresses(ctx, list(static), params.allow_ip_reuse, fields=static)
    if not params.password and not params.ssh_public_keys:
        warnings.append(
            "No password and no SSH key: you can only get in through the Proxmox console (pct enter)."
        )
    return warnings


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
        "features": "nesting=1" if params.nesting else None,
        "nameserver": params.nameserver,
        # The client leaves out None: unset options are not sent at all.
        "password": params.password or None,
        "ssh-public-keys": params.ssh_public_keys or None,
        "start": 1 if params.start else None,
    }
    return str(await ctx.pve.post(NodePath(params.node).guests("lxc"), **values))


def _describe_ct(guest: Guest | None, p: CreateCtParams) -> str:
    return (
        f"Create CT {p.vmid or '(next free id)'} {p.hostname} on {p.node} from {p.ostemplate.split('/')[-1]}: "
        f"{p.cores} cores, {p.memory} MiB, {p.rootfs_size} GiB on {p.rootfs_storage}, "
        + (p.net0().partition(",ip=")[2].partition(",tag=")[0] or "no address")
        + (f", VLAN {p.tag}" if p.tag else "")
        + (f", DNS {p.nameserver}" if p.nameserver else "")
        + (", nesting" if p.nesting else "")
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
    "its address by DHCP, static (`ip`, `gateway`; `ip6`, `gateway6`) or set inside, on VLAN `tag`, with DNS "
    "servers `nameserver` and `nesting` (unprivileged only). Refused for an offline node, a bridge, storage or "
    "template the node does not have, a VMID in use, or a static address another guest holds "
    "(unless `allow_ip_reuse`).",
)
