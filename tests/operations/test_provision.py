"""Create a VM or a container: node, bridge, storage, ISO or template and VMID checks, and the exact form sent."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.operations.addresses import AddressInUse
from app.operations.base import Context, Refused
from app.operations.holders import Holder
from app.operations.messages import plain_errors
from app.operations.provision import CREATE_VM, CreateVmParams
from app.operations.provision_ct import CREATE_CT, CreateCtParams
from app.proxmox import PveClient, parse_upid
from tests.operations.answers import bridges, cluster, recorded, vmid_taken, volume
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

NETWORK = "/nodes/node1/network"
ISO = "local:iso/debian-12.7.0-amd64-netinst.iso"
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG+7kQ/x3 admin@example"


def node1(proxmox: MemoryPve, offline: tuple[str, ...] = ()) -> None:
    """The recorded cluster, node1's bridges, its ISO and template, and the recorded next free VMID."""
    proxmox.answer("GET", "/cluster/resources", cluster(offline=offline))
    proxmox.answer("GET", NETWORK, bridges("vmbr0", "vmbr1"))
    proxmox.answer(
        "GET",
        "/nodes/node1/storage/local/content",
        [volume(ISO, "iso", 661651456), volume(TEMPLATE, "vztmpl", 126353408)],
    )
    proxmox.answer("GET", "/cluster/nextid", recorded("gp_cluster_nextid.json"))


def vm_params(**changes: Any) -> CreateVmParams:
    """web01 on node1, its disk on local-zfs."""
    return CreateVmParams.model_validate(
        {"node": "node1", "name": "web01", "disk_storage": "local-zfs", **changes}
    )


def ct_params(**changes: Any) -> CreateCtParams:
    """dns01 on node1 from the Debian template, its root disk on local-zfs."""
    values = {"node": "node1", "hostname": "dns01", "ostemplate": TEMPLATE, "rootfs_storage": "local-zfs"}
    return CreateCtParams.model_validate({**values, **changes})


# ---------------------------------------------------------------------- create a VM


async def test_create_vm_checks_everything_and_posts_its_config(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox)
    proxmox.answer("POST", "/nodes/node1/qemu", upid("node1", "qmcreate", 100))
    params = vm_params(iso=ISO)
    assert await CREATE_VM.preflight(context(None), params) == []
    assert proxmox.sent == [
        Sent("GET", "/cluster/resources"),
        Sent("GET", NETWORK, {"type": "any_bridge"}),
        Sent("GET", "/nodes/node1/storage/local/content", {"content": "iso"}),
        Sent("GET", "/cluster/nextid"),
    ]
    answer = await CREATE_VM.call(context(None), params)
    assert answer is not None and parse_upid(answer).type == CREATE_VM.task_type(None, params) == "qmcreate"
    form = {
        "vmid": "100",
        "name": "web01",
        "cores": "2",
        "sockets": "1",
        "memory": "2048",
        "ostype": "l26",
        "cpu": "x86-64-v2-AES",
        "scsihw": "virtio-scsi-single",
        "agent": "1",
        "scsi0": "local-zfs:32",
        "net0": "virtio,bridge=vmbr0",
        "boot": "order=scsi0;ide2;net0",
        "ide2": f"{ISO},media=cdrom",
    }
    assert proxmox.changes == [Sent("POST", "/nodes/node1/qemu", form)]
    assert "&net0=virtio%2Cbridge%3Dvmbr0&boot=order%3Dscsi0%3Bide2%3Bnet0&" in proxmox.changes[0].body
    assert CREATE_VM.describe(None, params) == (
        f"Create VM 100 web01 on node1: 2 vCPU, 2048 MiB, 32 GiB on local-zfs, ISO {ISO}"
    )
    assert params.subject() == ("node1", "qemu", 100, "web01")


async def test_create_vm_booting_the_cd_first_and_starting(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("POST", "/nodes/node1/qemu", upid("node1", "qmcreate", 120))
    params = vm_params(vmid=120, iso=ISO, boot="cdrom", start=True, cores=4, sockets=2, bridge="vmbr1")
    await CREATE_VM.call(context(None), params)
    sent = proxmox.changes[0].params
    assert (sent["boot"], sent["start"], sent["net0"]) == (
        "order=ide2;scsi0;net0",
        "1",
        "virtio,bridge=vmbr1",
    )
    assert CREATE_VM.describe(None, params).startswith("Create VM 120 web01 on node1: 8 vCPU")
    proxmox.answer("POST", "/nodes/node1/qemu", upid("node1", "qmcreate", 121))
    await CREATE_VM.call(context(None), vm_params(vmid=121))
    assert proxmox.changes[1].params["boot"] == "order=scsi0;net0" and "ide2" not in proxmox.changes[1].params


@pytest.mark.parametrize(
    ("params", "offline", "reason", "field"),
    [
        (
            vm_params(node="node9"),
            (),
            "There is no node 'node9'; choose one of: node1, node2, node3, node4.",
            "node",
        ),
        (vm_params(), ("node1",), "Node node1 is offline.", "node"),
        (
            vm_params(bridge="vmbr9"),
            (),
            "Node node1 has no bridge vmbr9; choose one of: vmbr0, vmbr1.",
            "bridge",
        ),
        (
            vm_params(disk_storage="local"),
            (),
            "Storage 'local' cannot hold images on node1; choose one of: local-zfs.",
            "disk_storage",
        ),
        (vm_params(boot="cdrom"), (), "Booting from CD-ROM needs an ISO image.", "iso"),
        (
            vm_params(iso="local:iso/gone.iso"),
            (),
            f"'local:iso/gone.iso' is not on storage local as seen from node1; choose one of: {ISO}.",
            "iso",
        ),
    ],
)
async def test_create_vm_refuses_what_would_fail_later(
    proxmox: MemoryPve,
    context: Ctx,
    params: CreateVmParams,
    offline: tuple[str, ...],
    reason: str,
    field: str,
) -> None:
    node1(proxmox, offline)
    with pytest.raises(Refused) as refused:
        await CREATE_VM.preflight(context(None), params)
    assert (refused.value.message, refused.value.field) == (reason, field)
    assert proxmox.changes == []


async def test_create_vm_with_a_taken_vmid_says_so_beside_the_vmid(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox)
    proxmox.fail("GET", "/cluster/nextid", *vmid_taken())
    with pytest.raises(Refused) as refused:
        await CREATE_VM.preflight(context(None), vm_params(vmid=200))
    assert (refused.value.message, refused.value.field) == ("VM 200 already exists", "vmid")
    assert proxmox.sent[-1] == Sent("GET", "/cluster/nextid", {"vmid": "200"})


# ---------------------------------------------------------------------- create a container


async def test_create_ct_with_static_addresses_posts_one_net0(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox)
    proxmox.answer("POST", "/nodes/node1/lxc", upid("node1", "vzcreate", 100))
    params = ct_params(
        ip="10.0.20.5/24",
        gateway="10.0.20.1",
        ip6="fd00:20::5/64",
        gateway6="fd00:20::1",
        password="correct horse",
        ssh_public_keys=SSH_KEY,
        start=True,
    )
    assert await CREATE_CT.preflight(context(None), params) == []
    assert proxmox.sent[2] == Sent("GET", "/nodes/node1/storage/local/content", {"content": "vztmpl"})
    await CREATE_CT.call(context(None), params)
    net0 = "name=eth0,bridge=vmbr0,ip=10.0.20.5/24,gw=10.0.20.1,ip6=fd00:20::5/64,gw6=fd00:20::1"
    form = {
        "vmid": "100",
        "hostname": "dns01",
        "ostemplate": TEMPLATE,
        "rootfs": "local-zfs:8",
        "memory": "512",
        "swap": "512",
        "cores": "1",
        "net0": net0,
        "unprivileged": "1",
        "password": "correct horse",
        "ssh-public-keys": SSH_KEY,
        "start": "1",
    }
    assert proxmox.changes == [Sent("POST", "/nodes/node1/lxc", form)]
    # The key's '+' and '/' must survive PVE's form decoding ('+' would become a space).
    assert "&ssh-public-keys=ssh-ed25519+AAAAC3NzaC1lZDI1NTE5AAAAIG%2B7kQ%2Fx3+admin%40example&" in (
        proxmox.changes[0].body
    )
    assert CREATE_CT.describe(None, params) == (
        "Create CT 100 dns01 on node1 from debian-12-standard_12.7-1_amd64.tar.zst: 1 cores, 512 MiB, 8 GiB on "
        "local-zfs, 10.0.20.5/24,gw=10.0.20.1,ip6=fd00:20::5/64,gw6=fd00:20::1"
    )
    assert CREATE_CT.task_type(None, params) == "vzcreate" and params.subject() == (
        "node1",
        "lxc",
        100,
        "dns01",
    )


async def test_create_ct_without_a_way_in_warns_and_sends_dhcp(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox)
    proxmox.answer("POST", "/nodes/node1/lxc", upid("node1", "vzcreate", 100))
    params = ct_params(unprivileged=False)
    assert await CREATE_CT.preflight(context(None), params) == [
        "No password and no SSH key: you can only get in through the Proxmox console (pct enter)."
    ]
    await CREATE_CT.call(context(None), params)
    sent = proxmox.changes[0].params
    assert (sent["net0"], sent["unprivileged"]) == ("name=eth0,bridge=vmbr0,ip=dhcp", "0")
    assert not {"password", "ssh-public-keys", "start"} & set(sent)
    assert CREATE_CT.describe(None, params).endswith("8 GiB on local-zfs, dhcp")


@pytest.mark.parametrize(
    ("params", "reason", "field"),
    [
        (
            ct_params(rootfs_storage="local"),
            "Storage 'local' cannot hold rootdir on node1; choose one of: local-zfs.",
            "rootfs_storage",
        ),
        (
            ct_params(ostemplate="local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz"),
            "'local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz' is not on storage local as seen from node1; "
            f"choose one of: {TEMPLATE}.",
            "ostemplate",
        ),
        (ct_params(bridge="vmbr7"), "Node node1 has no bridge vmbr7; choose one of: vmbr0, vmbr1.", "bridge"),
    ],
)
async def test_create_ct_refuses_what_would_fail_later(
    proxmox: MemoryPve, context: Ctx, params: CreateCtParams, reason: str, field: str
) -> None:
    node1(proxmox)
    with pytest.raises(Refused) as refused:
        await CREATE_CT.preflight(context(None), params)
    assert (refused.value.message, refused.value.field) == (reason, field)
    assert proxmox.changes == []


@pytest.mark.parametrize(
    "changes",
    [
        {"ip": "10.0.20.5"},  # no prefix length
        {"ip": "10.0.20.5/24", "gateway": "10.0.30.1"},  # gateway outside the network
        {"ip": "fd00::5/64"},  # IPv6 given as the IPv4 address
        {"ip6": "fe80::1%eth0/64"},  # a zone id could smuggle ',' into net0
        {"ipv4": "dhcp", "ip": "10.0.20.5/24"},
        {"gateway": "10.0.20.1"},  # a gateway without a static address
        {"hostname": "dns_01"},
    ],
)
def test_create_ct_params_refuse_addresses_pve_would_not_take(changes: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ct_params(**changes)


def problems(**changes: str) -> dict[str, str]:
    """Each field's problem, as the form shows them beside the fields."""
    try:
        ct_params(**changes)
    except ValidationError as exc:
        return plain_errors(exc)
    return {}


@pytest.mark.parametrize(
    ("v", "address", "gateway"), [("", "10.0.20.5", "10.0.20.1"), ("6", "fd00:20::5", "fd00:20::1")]
)
def test_a_gateway_is_refused_for_its_mode_never_beside_a_static_address_that_is_itself_wrong(
    v: str, address: str, gateway: str
) -> None:
    mode, prefix = ("ipv6", "/64") if v else ("ipv4", "/24")
    static = {mode: "static", f"gateway{v}": gateway}
    assert list(problems(**static, **{f"ip{v}": address})) == [f"ip{v}"]  # no prefix length
    assert list(problems(**static)) == [f"ip{v}"]  # no address at all
    assert problems(**static, **{f"ip{v}": address + prefix}) == {}
    refused = problems(**{mode: "dhcp", f"gateway{v}": gateway})
    assert refused == {f"gateway{v}": f"A gateway only goes with a static address; IPv{v or 4} is 'dhcp'."}
    assert f"gateway{v}" in problems(**{f"gateway{v}": gateway})  # the default mode (DHCP, or none for IPv6)


def test_create_ct_params_read_pve_style_modes() -> None:
    assert ct_params(ip="manual").net0() == "name=eth0,bridge=vmbr0,ip=manual"
    assert ct_params(ip6="auto").net0() == "name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto"


class Book:
    """An address book that knows one guest's addresses, and notes what it was asked."""

    def __init__(self, *held: Holder) -> None:
        self.held = held
        self.asked: list[list[str]] = []

    async def holders(self, addresses: list[str]) -> list[Holder]:
        """The held ones among the addresses."""
        self.asked.append(list(addresses))
        bare = {a.split("/")[0] for a in addresses}
        return [h for h in self.held if h.address in bare]

    def forget(self, vmid: int) -> None:
        """Nothing is cached here."""


async def test_create_ct_refuses_an_address_a_guest_holds_beside_its_field(
    proxmox: MemoryPve, pve: PveClient
) -> None:
    node1(proxmox)
    book = Book(Holder("fd00:20::5", 214, "web-3", "running"), Holder("fd00:20::5", 215, "", "stopped"))
    params = ct_params(ip="10.0.20.5/24", ip6="fd00:20::5/64", password="correct horse")
    with pytest.raises(AddressInUse) as refused:
        await CREATE_CT.preflight(Context(pve, None, book), params)
    assert refused.value.field == "ip6" and refused.value.confirm == "allow_ip_reuse"
    assert refused.value.message.startswith("fd00:20::5 is used by 214 (web-3, running) and 215 (stopped). ")
    assert book.asked == [["10.0.20.5/24", "fd00:20::5/64"]] and proxmox.changes == []
    params.allow_ip_reuse = True
    assert await CREATE_CT.preflight(Context(pve, None, book), params) == [
        "fd00:20::5 is used by 214 (web-3, running) and 215 (stopped): used anyway, as confirmed (allow_ip_reuse)."
    ]
    assert "allow_ip_reuse" not in str(CREATE_CT.describe(None, params)) and proxmox.changes == []


async def test_create_ct_asks_about_static_addresses_only(proxmox: MemoryPve, pve: PveClient) -> None:
    node1(proxmox)
    book = Book(Holder("10.0.20.5", 214, "web-3", "running"))
    assert await CREATE_CT.preflight(Context(pve, None, book), ct_params(ssh_public_keys=SSH_KEY)) == []
    assert book.asked == [], "DHCP asks nothing"
