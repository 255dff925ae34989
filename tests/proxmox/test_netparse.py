"""The network parsers on real PVE samples and on the tricky values PVE allows."""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from app.proxmox.netparse import (
    SOURCE_AGENT,
    SOURCE_CT,
    agent_enabled,
    parse_agent_interfaces,
    parse_config,
    parse_ipconfig,
    parse_lxc_interfaces,
    parse_lxc_net,
    parse_qemu_net,
    split_props,
)

SAMPLES = Path(__file__).parents[1] / "proxmox" / "samples"


def sample(name: str) -> Any:
    """A recorded PVE answer (its `data` when the file holds the whole body)."""
    data = json.loads((SAMPLES / name).read_text())
    return data["data"] if isinstance(data, dict) and "data" in data else data


def test_agent_sample_drops_loopback_and_keeps_every_nic() -> None:
    records = parse_agent_interfaces(sample("cp_agent_network_get_interfaces_pve6.2.json"))
    assert [(str(r.address), r.prefix_length, r.interface) for r in records] == [
        ("10.1.2.3", 24, "eth0"),
        ("fd8c:4687:e88d:1be3:5b70:7b88:c79c:293", 64, "eth0"),
        ("10.10.2.3", 16, "docker0"),
    ]
    assert {r.source for r in records} == {SOURCE_AGENT}
    assert all(r.mac == "FF:FF:FF:FF:FF:FF" for r in records)


def test_agent_answer_quirks() -> None:
    answer = {
        "result": [
            {"name": "Loopback Pseudo-Interface 1", "ip-addresses": [{"ip-address": "::1", "prefix": 128}]},
            {"name": "tun0", "hardware-address": "00:00:00:00:00:00"},  # no ip-addresses at all
            {
                "name": "ens18",
                "hardware-address": "bc:24:11:aa:bb:cc",
                "ip-addresses": [
                    {
                        "ip-address-type": "ipv6",
                        "ip-address": "fe80::be24:11ff:feaa:bbcc%ens18",
                        "prefix": "64",
                    },
                    {"ip-address-type": "ipv4", "ip-address": "0.0.0.0", "prefix": 0},  # noqa: S104 (data)
                    {"ip-address-type": "ipv4", "ip-address": "not-an-address", "prefix": 24},
                    {"ip-address-type": "ipv4", "ip-address": "127.0.1.1", "prefix": 8},
                ],
            },
        ]
    }
    records = parse_agent_interfaces(answer)
    assert len(records) == 1
    link = records[0]
    assert link.address == ip_address("fe80::be24:11ff:feaa:bbcc")
    assert link.link_local and link.prefix_length == 64 and link.mac == "BC:24:11:AA:BB:CC"
    assert parse_agent_interfaces(answer["result"]) == records, "the bare list is accepted too"
    assert parse_agent_interfaces(None) == [] and parse_agent_interfaces({"result": "x"}) == []


def test_qemu_config_sample() -> None:
    network = parse_config("qemu", sample("cp_qemu_config_pve6.2.json"))
    assert network.agent is True  # "1,type=virtio"
    assert network.digest == "51b7599f869b9a3f564804a0aed290f3de803292"
    assert [(i.nic.key, i.nic.bridge, i.nic.model) for i in network.interfaces] == [
        ("net0", "vmbr0", "virtio"),
        ("net1", "vmbr1", "virtio"),
    ]
    assert network.addresses == [], "no ipconfig: Proxmox sets no address"
    assert all(i.addressing is None for i in network.interfaces)


def test_lxc_config_sample_with_dhcp() -> None:
    network = parse_config("lxc", sample("gp_lxc_config.json"))
    (iface,) = network.interfaces
    assert iface.nic.name == "eth0" and iface.nic.mac == "5D:CF:BD:B2:C5:39" and iface.label == "eth0"
    assert iface.addressing is not None and iface.addressing.dhcp4 and iface.addressing.dynamic
    assert network.addresses == [] and network.agent is False


def test_cloud_init_static_dual_stack() -> None:
    config = {
        "net0": "virtio=BC:24:11:0D:24:6A,bridge=vmbr0,firewall=1,tag=20",
        "ipconfig0": "ip=10.0.10.21/24,gw=10.0.10.1,ip6=fd00:0:10::15/64,gw6=fd00:0:10::1",
        "agent": "enabled=1,fstrim_cloned_disks=1",
        "digest": "abc",
    }
    network = parse_config("qemu", config)
    v4, v6 = network.addresses
    assert (str(v4.address), v4.prefix_length, v4.interface, v4.mac) == (
        "10.0.10.21",
        24,
        "net0",
        "BC:24:11:0D:24:6A",
    )
    assert v4.source == "config: ipconfig0" and v4.configured and str(v4.gateway) == "10.0.10.1"
    assert (str(v6.address), v6.prefix_length, v6.version) == ("fd00:0:10::15", 64, 6)
    assert network.interfaces[0].nic.vlan == 20
    assert [str(g) for g in network.gateways] == ["10.0.10.1", "fd00:0:10::1"]
    assert network.agent


@pytest.mark.parametrize(
    ("value", "flags"),
    [
        ("ip=dhcp", (True, False, False)),
        ("ip=dhcp,ip6=auto", (True, False, True)),
        ("ip6=dhcp", (False, True, False)),
        ("", (True, False, False)),  # cloud-init with neither address: DHCP on IPv4
        ("gw=10.0.0.1", (True, False, False)),
    ],
)
def test_ipconfig_dynamic_flags(value: str, flags: tuple[bool, bool, bool]) -> None:
    parsed = parse_ipconfig("ipconfig0", value)
    assert (parsed.dhcp4, parsed.dhcp6, parsed.auto6) == flags
    assert parsed.addresses == () and parsed.dynamic


def test_ipconfig_bad_values_become_problems() -> None:
    parsed = parse_ipconfig("ipconfig1", "ip=auto,ip6=10.0.0.1/24")
    assert parsed.addresses == ()
    assert parsed.problems == (
        "ipconfig1: ip=auto is not valid",
        "ipconfig1: '10.0.0.1/24' is not an IPv6 address",
    )
    assert parse_ipconfig("ipconfig0", "ip=10.0.0.300/24").problems == (
        "ipconfig0: '10.0.0.300/24' is not an address in CIDR form",
    )


@pytest.mark.parametrize(
    ("value", "address", "prefix"),
    [
        ("ip=10.0.0.5/24", "10.0.0.5", 24),
        ("ip=10.0.0.5/024", "10.0.0.5", 24),
        ("ip=10.0.0.5", "10.0.0.5", 32),
        ("ip=10.0.0.5/255.255.255.0", "10.0.0.5", 24),
        ("ip6=fd00:0:10::21/64", "fd00:0:10::21", 64),
    ],
)
def test_static_addresses_read_as_ip_interface_reads_them(value: str, address: str, prefix: int) -> None:
    (record,) = parse_ipconfig("ipconfig0", value).addresses
    assert (str(record.address), record.prefix_length) == (address, prefix)


@pytest.mark.parametrize("value", ["ip=10.0.0.5/33", "ip6=fd00::1/129", "ip=/24", "ip=10.0.0.5/x"])
def test_impossible_prefixes_are_problems(value: str) -> None:
    parsed = parse_ipconfig("ipconfig0", value)
    assert parsed.addresses == () and "is not an address in CIDR form" in parsed.problems[0]


def test_ipconfig_without_a_net_is_still_read() -> None:
    network = parse_config("qemu", {"ipconfig2": "ip=192.168.5.5/24"})
    (iface,) = network.interfaces
    assert iface.nic.key == "net2" and iface.nic.mac is None
    assert [str(a.address) for a in network.addresses] == ["192.168.5.5"]


def test_qemu_net_models_and_macaddr() -> None:
    assert parse_qemu_net("net0", "e1000=BC:24:11:00:00:01,bridge=vmbr1").mac == "BC:24:11:00:00:01"
    nic = parse_qemu_net("net1", "model=virtio,macaddr=bc:24:11:00:00:02,bridge=vmbr0,tag=abc")
    assert (nic.model, nic.mac, nic.vlan) == ("virtio", "BC:24:11:00:00:02", None)
    assert parse_qemu_net("net2", "virtio,bridge=vmbr0").mac is None


def test_lxc_net_static_manual_and_auto() -> None:
    static = parse_lxc_net(
        "net1",
        "name=eth1,bridge=vmbr0,hwaddr=BC:24:11:4C:58:48,ip=10.0.20.5/24,gw=10.0.20.1,ip6=auto,type=veth",
    )
    assert static.addressing is not None
    (record,) = static.addressing.addresses
    assert (str(record.address), record.interface, record.source) == ("10.0.20.5", "eth1", "config: net1")
    assert static.addressing.auto6 and not static.addressing.dhcp4
    manual = parse_lxc_net("net0", "name=eth0,bridge=vmbr0,ip=manual")
    assert manual.addressing is not None and manual.addressing.manual and manual.addressing.dynamic
    nothing = parse_lxc_net("net0", "name=eth0,bridge=vmbr0")
    assert nothing.addressing is not None and not nothing.addressing.dynamic, "no ip= means no address"


def test_lxc_interfaces_current_and_old_shapes() -> None:
    current = [
        {"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "ip-addresses": []},
        {
            "name": "eth0",
            "hwaddr": "bc:24:11:0d:98:2e",
            "inet": "10.0.20.20/24",
            "ip-addresses": [
                {"ip-address-type": "inet", "ip-address": "10.0.20.20", "prefix": "24"},
                {"ip-address-type": "inet6", "ip-address": "fd00:0:20::14", "prefix": 64},
                {"ip-address-type": "inet6", "ip-address": "::1", "prefix": 128},
            ],
        },
    ]
    records = parse_lxc_interfaces(current)
    assert [(str(r.address), r.prefix_length) for r in records] == [("10.0.20.20", 24), ("fd00:0:20::14", 64)]
    assert {r.source for r in records} == {SOURCE_CT} and records[0].mac == "BC:24:11:0D:98:2E"
    old = [{"name": "eth0", "hwaddr": "bc:24:11:0d:98:2e", "inet": "10.0.20.20/24", "inet6": "fe80::1/64"}]
    records = parse_lxc_interfaces(old)
    assert [(str(r.address), r.prefix_length, r.link_local) for r in records] == [
        ("10.0.20.20", 24, False),
        ("fe80::1", 64, True),
    ]
    assert parse_lxc_interfaces(None) == [], "a stopped container answers null"


def test_property_strings_and_agent_flag() -> None:
    assert split_props("virtio=AA,bridge=vmbr0,,firewall=1") == {
        "virtio": "AA",
        "bridge": "vmbr0",
        "firewall": "1",
    }
    assert split_props("1,type=virtio", "enabled") == {"enabled": "1", "type": "virtio"}
    assert agent_enabled("1") and agent_enabled(1) and agent_enabled("enabled=1,fstrim_cloned_disks=1")
    assert not agent_enabled("0") and not agent_enabled(None) and not agent_enabled("enabled=0,type=isa")
