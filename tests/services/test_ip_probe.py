"""The checks beyond Proxmox (PROXGATE_IP_PROBE): what the setting takes, how the neighbour tables read, and a
real ping of loopback addresses, bounded as it says."""

from __future__ import annotations

import time
from ipaddress import ip_address

import pytest

from app.config import ConfigError, load_settings
from app.services.ips.probe import AT_ONCE, NO_PROBE, AddressProbe, parse_arp, parse_checks, parse_neighbours

NEIGH = """10.0.0.1 dev vmbr0 lladdr 3c:fd:fe:01:02:03 REACHABLE
10.0.0.7 dev vmbr0 lladdr bc:24:11:aa:bb:cc STALE
10.0.0.9 dev vmbr0 FAILED
10.0.0.12 dev vmbr0  INCOMPLETE
fe80::1 dev vmbr0 lladdr 3c:fd:fe:01:02:03 router REACHABLE
"""
ARP = """IP address       HW type     Flags       HW address            Mask     Device
192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0
192.0.2.9        0x1         0x0         00:00:00:00:00:00     *        eth0
"""


def test_the_setting_takes_off_ping_or_ping_and_neigh() -> None:
    assert parse_checks("off") == frozenset() and parse_checks("ping") == {"ping"}
    assert parse_checks(" neigh, PING ") == {"ping", "neigh"}
    assert load_settings(ip_probe="neigh,ping").ip_probe == "ping,neigh"
    for wrong in ("neigh", "arp", "ping,arp"):
        with pytest.raises(ValueError, match="expected off, ping or ping,neigh"):
            parse_checks(wrong)
    with pytest.raises(ConfigError, match="PROXGATE_IP_PROBE: expected off, ping or ping,neigh"):
        load_settings(ip_probe="arp")


def test_neighbour_tables_keep_only_entries_that_were_seen() -> None:
    seen = parse_neighbours(NEIGH)
    assert sorted(map(str, seen)) == ["10.0.0.1", "10.0.0.7", "fe80::1"]
    assert seen[ip_address("10.0.0.7")] == "is in the neighbour table, on vmbr0 as bc:24:11:aa:bb:cc"
    assert list(map(str, parse_arp(ARP))) == ["192.0.2.1"]


async def test_loopback_addresses_answer_a_ping_within_the_bounds() -> None:
    probe = AddressProbe(frozenset({"ping"}))
    wanted = [ip_address(f"127.0.0.{n}") for n in range(2, 2 + AT_ONCE + 4)] + [ip_address("::1")]
    started = time.monotonic()
    found = await probe.probe(wanted)
    assert set(found) == set(wanted)
    assert found[ip_address("::1")].how == "answered a ping from Proxgate's host"
    # Two rounds of at most 16 pings of at most 1 s each (loopback answers in a fraction of that).
    assert time.monotonic() - started < 2 * 1 + 1.5
    assert "a ping from Proxgate's host (2 packets, 1 s)" in probe.summary()
    assert "a stopped server that owns a DHCP reservation" in probe.summary()


async def test_with_the_probe_off_nothing_is_sent() -> None:
    probe = AddressProbe(frozenset())
    assert await probe.probe([ip_address("127.0.0.1")]) == {} and probe.summary() == NO_PROBE
