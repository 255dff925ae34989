"""Address filters and subnet arithmetic: what a user may type, which hosts a subnet has."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from app.services.ips.subnets import first_free, host_count, is_host, parse_address_filter, parse_subnet


@pytest.mark.parametrize(
    ("text", "yes", "no"),
    [
        ("10.0.10.21", "10.0.10.21", "10.0.10.210"),
        ("10.0.", "10.0.20.5", "10.1.0.5"),
        ("10.0.1", "10.0.10.5", "10.1.0.5"),
        ("10.0.10.0/24", "10.0.10.254", "10.0.11.1"),
        ("10.0.10.77/24", "10.0.10.1", "10.0.9.1"),  # host bits are forgiven
        ("fd00:0:10::/64", "fd00:0:10::14", "fd00:0:20::14"),
        ("fd00:0:10", "fd00:0:10::14", "fd00:0:20::14"),
        ("FD00:0:10::14", "fd00:0:10::14", "fd00:0:10::15"),
        (" 10.0.20. ", "10.0.20.1", "10.0.2.1"),
    ],
)
def test_filter_matches(text: str, yes: str, no: str) -> None:
    wanted = parse_address_filter(text)
    assert wanted is not None
    assert wanted.matches(ip_address(yes)) and not wanted.matches(ip_address(no))


def test_ipv4_network_never_matches_ipv6() -> None:
    wanted = parse_address_filter("0.0.0.0/0")
    assert wanted is not None and not wanted.matches(ip_address("fd00::1"))


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_filter_is_none(text: str | None) -> None:
    assert parse_address_filter(text) is None


@pytest.mark.parametrize(
    "text", ["web01", "10.0.300.", "10.0.10.0/33", "1.2.3.4.5", "fd00:12345", "x" * 80, "<b>"]
)
def test_bad_filters_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"10\.0\.10\.0/24"):
        parse_address_filter(text)


def test_subnets() -> None:
    assert parse_subnet("10.0.10.0/24") == ip_network("10.0.10.0/24")
    assert parse_subnet(" 10.0.10.9/24 ") == ip_network("10.0.10.0/24")
    assert parse_subnet("fd00:0:10::/64").prefixlen == 64
    for bad, words in [
        ("", "give a subnet"),
        ("10.0.10.1", "not a subnet in CIDR form"),
        ("10.0.10.0/99", "not a subnet"),
        ("fd00::/48", "larger than a /64"),
    ]:
        with pytest.raises(ValueError, match=words):
            parse_subnet(bad)


@pytest.mark.parametrize(
    ("cidr", "hosts"),
    [
        ("10.0.10.0/24", 254),
        ("10.0.0.0/8", 2**24 - 2),
        ("10.0.0.0/31", 2),
        ("10.0.0.7/32", 1),
        ("fd00::/64", 2**64 - 1),
    ],
)
def test_host_count_agrees_with_hosts(cidr: str, hosts: int) -> None:
    network = ip_network(cidr)
    assert host_count(network) == hosts
    if hosts < 1000:
        assert hosts == len(list(network.hosts())) == sum(is_host(network, a) for a in network)


def test_first_free_skips_used_and_edges() -> None:
    network = ip_network("10.0.10.0/29")
    used = {ip_address("10.0.10.1"), ip_address("10.0.10.3"), ip_address("10.0.10.0")}
    assert [str(a) for a in first_free(network, used, 10)] == [f"10.0.10.{n}" for n in (2, 4, 5, 6)]
    assert [str(a) for a in first_free(network, used, 2)] == ["10.0.10.2", "10.0.10.4"]
    assert not is_host(network, ip_address("10.0.10.7")) and not is_host(network, ip_address("10.0.10.0"))


def test_first_free_in_a_v6_64_is_lazy() -> None:
    free = first_free(ip_network("fd00:0:10::/64"), {ip_address("fd00:0:10::1")}, 3)
    assert [str(a) for a in free] == ["fd00:0:10::2", "fd00:0:10::3", "fd00:0:10::4"]
