"""The demo's guests: VMs and containers with PVE-shaped configs, disks, addresses and guest agents."""

from __future__ import annotations

import itertools
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from fakepve import FakeCt, FakeVm
from fakepve.lxc import normalise

from app.demo.catalogue import CT_ROLES, OS_INFO, VIRTIO_ISO, VM_ROLES, Role
from pvesim.units import GIB

TEMPLATES = (
    (9000, Role("tmpl-debian-12", 2, 2048, 10, "", None, os="debian")),
    (9001, Role("tmpl-ubuntu-2404", 2, 2048, 10, "", None, os="ubuntu")),
)
TEMPLATE_IDS = {vmid for vmid, _role in TEMPLATES}
OSTYPE = {"win2k22": "win11", "win11": "win11", "other": "other"}
HA_ROLES = ("db-primary", "gitlab", "keycloak")
DAY = 86400


@dataclass
class Plan:
    """One guest to build."""

    vmid: int
    kind: str
    role: Role
    name: str
    node: str
    running: bool
    storage: str
    index: int  # among the guests of its kind: picks its address and its quirks
    template: bool = False
    ha: bool = False


def role_name(role: Role, count: int) -> str:
    """web01, k3s-node-3; a role without a number gets one from its second guest on (pihole-2)."""
    if "{n" in role.name:
        return role.name.format(n=count)
    return role.name if count == 1 else f"{role.name}-{count}"


def plan_guests(count: int, nodes: list[str], rng: random.Random) -> list[Plan]:
    """count guests: one or two templates, the rest about 60% VMs and 40% containers."""
    templates = TEMPLATES[: 2 if count >= 10 else min(count, 1)]
    plans = [
        Plan(vmid, "qemu", role, role.name, nodes[0], False, "local-lvm", -1, True)
        for vmid, role in templates
    ]
    planner = Planner(nodes, rng)
    return plans + [planner.next() for _ in range(count - len(templates))]


class Planner:
    """Draws guests one after the other: vmids with a few gaps, roles in a shuffled cycle, numbered names."""

    def __init__(self, nodes: list[str], rng: random.Random) -> None:
        self.nodes, self.rng, self.vmid, self.drawn = nodes, rng, 99, 0
        self.cycles = {}
        for kind, roles in (("qemu", VM_ROLES), ("lxc", CT_ROLES)):
            order = list(roles)
            rng.shuffle(order)
            self.cycles[kind] = itertools.cycle(order)
        self.named: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()

    def next(self) -> Plan:
        """The next guest."""
        rng = self.rng
        self.vmid += 1 if rng.random() > 0.08 else rng.choice((2, 3, 10))
        while self.vmid in TEMPLATE_IDS:
            self.vmid += 1
        # Three VMs to every two containers, interleaved.
        kind = "qemu" if self.drawn % 5 in (0, 1, 3) else "lxc"
        self.drawn += 1
        role = next(self.cycles[kind])
        self.named[role.name] += 1
        index = self.seen[kind]
        self.seen[kind] += 1
        ha = role.name in HA_ROLES and self.named[role.name] == 1
        shared = ha or rng.random() < (0.4 if kind == "qemu" else 0.25)
        name = role_name(role, self.named[role.name])
        # A quarter of the guests are stopped; the pattern spreads them over all roles.
        running = index % 4 != 2
        storage = "ceph-vm" if shared else "local-lvm"
        return Plan(self.vmid, kind, role, name, rng.choice(self.nodes), running, storage, index, ha=ha)


def addresses(kind: str, index: int) -> dict[str, str]:
    """A guest's static addresses: VMs in 10.x.10.0/24, containers in 10.x.20.0/24, 200 per subnet."""
    net, host = index // 200, index % 200 + 20
    lan = 10 if kind == "qemu" else 20
    return {
        "ip": f"10.{net}.{lan}.{host}",
        "gw": f"10.{net}.{lan}.1",
        "ip6": f"fd00:{net}:{lan}::{host:x}",
        "gw6": f"fd00:{net}:{lan}::1",
    }


class GuestBuilder:
    """Builds the guests of a seed into pve, with randomness from one seeded generator."""

    def __init__(self, pve: Any, rng: random.Random, now: float, today: float) -> None:
        self.pve, self.rng, self.now, self.today = pve, rng, now, today

    def mac(self) -> str:
        """A MAC address in Proxmox's BC:24:11 range."""
        return "BC:24:11:" + ":".join(f"{self.rng.randrange(256):02X}" for _ in range(3))

    def uuid(self) -> str:
        """A version-4 UUID from the seeded generator."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def volume(self, sid: str, vmid: int, name: str, size: int) -> str:
        """Record a VM volume on its storage (as fakepve's own VM create does) and return its volid."""
        record = {"content": "images", "format": "raw", "size": size, "vmid": vmid, "ctime": int(self.today)}
        self.pve.storages[sid]["volumes"][name] = record
        return f"{sid}:{name}"

    def add(self, plan: Plan) -> Any:
        """Build the plan's guest into pve and its pool."""
        guest = self.vm(plan) if plan.kind == "qemu" else self.ct(plan)
        if plan.running:
            guest.started_at = self.now - self.rng.uniform(3600, 40 * DAY)
        if plan.role.pool and not plan.template:
            guest.pool = plan.role.pool
            self.pve.pools.setdefault(plan.role.pool, set()).add(plan.vmid)
        return guest

    def vm(self, plan: Plan) -> FakeVm:
        """A VM: Linux with cloud-init, Windows with EFI and TPM, or an appliance without an agent."""
        vm = FakeVm(plan.vmid, plan.name, node=plan.node, status="running" if plan.running else "stopped")
        vm.config = self.vm_config(plan)
        vm.template = plan.template
        # PVE seconds the power actions take, so that the demo's tasks run visibly for a moment.
        slow = 2 if plan.role.os.startswith("win") else 1
        vm.start_secs, vm.stop_secs = self.rng.randint(6, 16) * slow, 2
        vm.shutdown_secs = self.rng.randint(8, 24) * slow
        if plan.ha:
            vm.ha_state = "started" if plan.running else "stopped"
        # Every eighth VM has the agent configured but not running inside the guest.
        if plan.running and "agent" in vm.config and plan.index % 8 != 5:
            vm.agent = {"interfaces": self.interfaces(plan, vm.config), "os": os_info(plan.role.os)}
        self.pve.vms.append(vm)
        return vm

    def vm_config(self, plan: Plan) -> dict[str, Any]:
        role, created = plan.role, int(self.today - self.rng.uniform(30, 700) * DAY)
        cfg: dict[str, Any] = {
            "name": plan.name,
            "cores": role.cores,
            "sockets": 1,
            "memory": role.memory,
            "cpu": "x86-64-v2-AES",
            "ostype": OSTYPE.get(role.os, "l26"),
            "scsihw": "virtio-scsi-single",
            "numa": 0,
            "meta": f"creation-qemu=9.0.2,ctime={created}",
            "smbios1": f"uuid={self.uuid()}",
            "vmgenid": self.uuid(),
            "net0": f"virtio={self.mac()},bridge=vmbr0,firewall=1",
        }
        if role.os != "other":
            cfg["agent"] = "1" if plan.index % 3 else "enabled=1,fstrim_cloned_disks=1"
        if role.tags and not plan.template:
            cfg["tags"] = role.tags
        if plan.running:
            cfg["onboot"] = 1
        cfg.update(self.vm_disks(plan))
        if plan.template:
            cfg["template"] = 1
        return cfg

    def vm_disks(self, plan: Plan) -> dict[str, Any]:
        """Disks, boot order and, for Linux, a cloud-init drive with the guest's address."""
        sid, vmid, role = plan.storage, plan.vmid, plan.role
        out: dict[str, Any] = {}
        prefix, n = ("base" if plan.template else "vm"), 0
        if role.os.startswith("win"):
            efi = self.volume(sid, vmid, f"{prefix}-{vmid}-disk-0", 528 * 1024)
            out.update(bios="ovmf", machine="pc-q35-9.0", ide0=VIRTIO_ISO)
            out["efidisk0"] = f"{efi},efitype=4m,pre-enrolled-keys=1,size=528K"
            tpm = self.volume(sid, vmid, f"{prefix}-{vmid}-disk-2", 4 * 1024**2)
            out["tpmstate0"] = f"{tpm},size=4M,version=v2.0"
            n = 1
        root = self.volume(sid, vmid, f"{prefix}-{vmid}-disk-{n}", role.disk * GIB)
        out["scsi0"] = f"{root},discard=on,iothread=1,size={role.disk}G"
        if role.data:
            data = self.volume(sid, vmid, f"{prefix}-{vmid}-disk-{n + 1}", role.data * GIB)
            out["scsi1"] = f"{data},{'' if role.data_backup else 'backup=0,'}iothread=1,size={role.data}G"
        if role.os in ("debian", "ubuntu"):
            out.update(self.cloud_init(plan))
            out["boot"] = "order=scsi0;ide2;net0"
        else:
            out["boot"] = "order=scsi0;ide0;net0" if "ide0" in out else "order=scsi0;net0"
        return out

    def cloud_init(self, plan: Plan) -> dict[str, Any]:
        ci = self.volume(plan.storage, plan.vmid, f"vm-{plan.vmid}-cloudinit", 4 * 1024**2)
        out: dict[str, Any] = {"ide2": f"{ci},media=cdrom", "ciuser": plan.role.os}
        if plan.template:
            out["ipconfig0"] = "ip=dhcp"
        elif plan.index % 5 == 3:
            out["ipconfig0"] = "ip=dhcp,ip6=auto"
        else:
            a = addresses("qemu", plan.index)
            out["ipconfig0"] = f"ip={a['ip']}/24,gw={a['gw']},ip6={a['ip6']}/64,gw6={a['gw6']}"
        return out

    def interfaces(self, plan: Plan, cfg: dict[str, Any]) -> list[dict[str, Any]]:
        """What guest-network-get-interfaces reports: loopback, the NIC with IPv4 and IPv6, maybe a bridge."""
        a = addresses("qemu", plan.index)
        mac = cfg["net0"].split("=")[1].split(",")[0].lower()
        windows = plan.role.os.startswith("win")
        lo = "Loopback Pseudo-Interface 1" if windows else "lo"
        nic = "Ethernet" if windows else "ens18"
        link = f"fe80::be24:11ff:fe{mac[9:11]}:{mac[12:14]}{mac[15:17]}"
        out = [
            iface(lo, "00:00:00:00:00:00", ("ipv4", "127.0.0.1", 8), ("ipv6", "::1", 128)),
            iface(nic, mac, ("ipv4", a["ip"], 24), ("ipv6", a["ip6"], 64), ("ipv6", link, 64)),
        ]
        out[1]["statistics"] = self.statistics()
        if "docker" in plan.role.tags or "k8s" in plan.role.tags:
            out.append(iface("docker0", self.mac().lower(), ("ipv4", "172.17.0.1", 16)))
        return out

    def statistics(self) -> dict[str, int]:
        rx, tx = self.rng.randrange(10**8, 10**12), self.rng.randrange(10**8, 10**11)
        return {
            "rx-bytes": rx,
            "rx-packets": rx // 900,
            "rx-errs": 0,
            "rx-dropped": self.rng.randrange(40),
            "tx-bytes": tx,
            "tx-packets": tx // 700,
            "tx-errs": 0,
            "tx-dropped": 0,
        }

    def ct(self, plan: Plan) -> FakeCt:
        """A container: static or DHCP address, a mount point for the roles with data."""
        status = "running" if plan.running else "stopped"
        ct = FakeCt(plan.vmid, node=plan.node, status=status, config=self.ct_config(plan), defaults=False)
        ct.start_secs, ct.shutdown_secs, ct.stop_secs = self.rng.randint(2, 6), self.rng.randint(2, 9), 1
        if plan.running:
            ct.pid = next(self.pve._ct_pids)
        self.pve.cts.append(ct)
        return ct

    def ct_config(self, plan: Plan) -> dict[str, Any]:
        role, sid, vmid = plan.role, plan.storage, plan.vmid
        a = addresses("lxc", plan.index)
        ip = (
            "ip=dhcp"
            if plan.index % 5 == 3
            else f"gw={a['gw']},ip={a['ip']}/24,ip6={a['ip6']}/64,gw6={a['gw6']}"
        )
        cfg: dict[str, Any] = {
            "arch": "amd64",
            "cores": role.cores,
            "hostname": plan.name,
            "memory": role.memory,
            "swap": 512,
            "ostype": role.os,
            "rootfs": f"{sid}:vm-{vmid}-disk-0,size={role.disk}G",
            "unprivileged": 1,
            "net0": normalise("net0", f"name=eth0,bridge=vmbr0,firewall=1,hwaddr={self.mac()},{ip}"),
        }
        if role.os != "alpine":
            cfg["features"] = "nesting=1"
        if role.data:
            backup = "backup=1," if role.data_backup else ""
            cfg["mp0"] = f"{sid}:vm-{vmid}-disk-1,{backup}mp=/srv/data,size={role.data}G"
        if role.tags:
            cfg["tags"] = role.tags
        if plan.running:
            cfg["onboot"] = 1
        return cfg


def iface(name: str, mac: str, *addrs: tuple[str, str, int]) -> dict[str, Any]:
    """One interface of a guest agent answer."""
    ips = [{"ip-address-type": kind, "ip-address": ip, "prefix": prefix} for kind, ip, prefix in addrs]
    return {"name": name, "hardware-address": mac, "ip-addresses": ips}


def os_info(os: str) -> dict[str, Any]:
    """guest-get-osinfo's answer for the role's OS."""
    ident, pretty, version, kernel = OS_INFO.get(os, OS_INFO["debian"])
    info: dict[str, Any] = {"id": ident, "name": pretty.split(" ")[0], "pretty-name": pretty}
    info.update({"version-id": version, "kernel-release": kernel, "machine": "x86_64"})
    return info
