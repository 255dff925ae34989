"""IpService against the seeded fake: sources, notes, filters, caches, free addresses."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_address
from typing import Any

import pytest

from app.proxmox import PveClient, PveConnection
from app.services.errors import Invalid, NotFound
from app.services.ips import GuestScope
from app.services.ips.service import IpService
from pvesim.fake import DemoPve
from tests.conftest import TOKEN_ID, TOKEN_SECRET
from tests.fakepve_thread import ServedFake
from tests.ip_guests import Guests, Requests, agent_down_vm


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The service's clock."""
    return Clock()


@pytest.fixture
async def service(pve_client: PveClient, clock: Clock) -> AsyncIterator[IpService]:
    """A fresh service (cold caches) on the hand-moved clock; its background refresh ends with the test."""
    made = IpService(pve_client, clock=clock)
    yield made
    await made.aclose()


def rows(inventory: Any) -> dict[tuple[int, str], Any]:
    """(vmid, address) -> item."""
    return {(i.vmid, str(i.address)): i for i in inventory.items}


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[Guests]:
    """Guests the test adds (vmids 9200-9299), removed afterwards."""
    with Guests(pve) as added:
        yield added


async def test_every_source_shows_and_loopback_does_not(service: IpService, pve: DemoPve) -> None:
    inventory = await service.inventory()
    found = rows(inventory)
    assert not any(i.address.is_loopback for i in inventory.items)
    static_vm = next(
        v for v in pve.vms if "ip=10." in str(v.config.get("ipconfig0")) and v.status == "stopped"
    )
    address = str(v4_of(static_vm.config["ipconfig0"]))
    assert found[(static_vm.vmid, address)].sources == ("config: ipconfig0",)
    assert found[(static_vm.vmid, address)].status == "stopped"
    agent_vm = next(v for v in pve.vms if v.agent and "ip=dhcp" in str(v.config.get("ipconfig0")))
    live = [i for i in inventory.items if i.vmid == agent_vm.vmid]
    assert {i.source for i in live} == {"guest agent"}, "a DHCP VM's address comes from its agent"
    assert any(i.link_local for i in live) and any(not i.link_local and i.address.version == 4 for i in live)
    ct = next(c for c in pve.cts if c.status == "running" and "ip=10." in c.config["net0"])
    ct_address = str(v4_of(ct.config["net0"]))
    assert found[(ct.vmid, ct_address)].sources == ("config: net0", "container interfaces")
    assert (
        found[(ct.vmid, ct_address)].interface == "eth0" and found[(ct.vmid, ct_address)].prefix_length == 24
    )
    templates = [n for n in inventory.notes if n.vmid in {v.vmid for v in pve.vms if v.template}]
    assert templates and all("template" in n.message for n in templates)


def v4_of(config_line: str) -> Any:
    """The static IPv4 address of a config line."""
    return ip_address(config_line.split("ip=", 1)[1].split("/", 1)[0])


async def test_prefix_and_cidr_filters(service: IpService) -> None:
    by_cidr = await service.inventory("10.0.20.0/24")
    assert by_cidr.items and all(str(i.address).startswith("10.0.20.") for i in by_cidr.items)
    assert all(i.type == "lxc" for i in by_cidr.items) and by_cidr.total > len(by_cidr.items)
    by_start = await service.inventory("10.0.")
    assert {str(i.address) for i in by_cidr.items} < {str(i.address) for i in by_start.items}
    one = by_cidr.items[0]
    exact = await service.inventory(str(one.address))
    assert [(i.vmid, i.address) for i in exact.items] == [(one.vmid, one.address)]
    v6 = await service.inventory("fd00:0:20::/64")
    assert v6.items and all(i.address.version == 6 for i in v6.items)


@pytest.mark.parametrize("bad", ["web01", "10.0.10.0/40", "10.0.999.", "1.2.3.4.5"])
async def test_bad_prefix_is_refused_before_any_request(service: IpService, pve: DemoPve, bad: str) -> None:
    seen = Requests(pve)
    with pytest.raises(Invalid) as refused:
        await service.inventory(bad)
    assert refused.value.field == "prefix" and "10.0.10.0/24" in refused.value.message
    assert seen.since() == []


async def test_agent_not_running_is_a_note(service: IpService, pve: DemoPve) -> None:
    vm = agent_down_vm(pve)
    inventory = await service.inventory()
    notes = [n for n in inventory.notes if n.vmid == vm.vmid and n.kind == "agent"]
    assert len(notes) == 1 and "QEMU guest agent is not running" in notes[0].message
    assert any(i.vmid == vm.vmid for i in inventory.items) == (
        "ipconfig0" in vm.config and "ip=10" in vm.config["ipconfig0"]
    )


async def test_forbidden_config_names_the_privilege_and_the_rest_shows(
    service: IpService, pve: DemoPve, guests: Guests
) -> None:
    guests.vm(9210, "audit-me", "ip=10.92.0.10/24,gw=10.92.0.1")
    pve.fail("GET", "/nodes/pve1/qemu/9210/config", 403, "Permission check failed (/vms/9210, VM.Audit)")
    inventory = await service.inventory()
    (note,) = [n for n in inventory.notes if n.vmid == 9210]
    assert note.kind == "forbidden" and "VM.Audit" in note.message and "/vms/9210" in note.message
    assert not any(i.vmid == 9210 for i in inventory.items)
    assert len({i.vmid for i in inventory.items}) > 15, "every other guest still shows"


async def test_config_cache_window_and_digest(
    service: IpService, pve: DemoPve, guests: Guests, clock: Clock
) -> None:
    vm = guests.vm(9211, "moves-address", "ip=10.92.0.11/24,gw=10.92.0.1")
    await service.inventory()
    seen = Requests(pve)
    warm = await service.inventory()
    assert [r for r in seen.since() if r[1].endswith("/config")] == [], "a warm inventory reads no config"
    assert not [r for r in seen.since() if "/agent/" in r[1] or r[1].endswith("/interfaces")]
    vm.config["ipconfig0"] = "ip=10.92.0.99/24,gw=10.92.0.1"
    assert (9211, "10.92.0.11") in rows(await service.inventory()), "within the window the cache answers"
    clock.now += 61
    parsed, seen = service.parses, Requests(pve)
    stale = await service.inventory()
    assert (9211, "10.92.0.11") in rows(stale), "after the window the page still answers from the cache..."
    await service.refreshed()
    configs = [r for r in seen.since() if r[1].endswith("/config")]
    assert len(configs) == warm.guests, "...and every config is read again in the background"
    assert service.parses - parsed == 1, "only the config whose digest changed is parsed again"
    fresh = await service.inventory()
    assert (9211, "10.92.0.99") in rows(fresh) and (9211, "10.92.0.11") not in rows(fresh)


async def test_forget_drops_one_guest(service: IpService, pve: DemoPve, guests: Guests) -> None:
    vm = guests.vm(9212, "forgotten", "ip=10.92.0.12/24")
    await service.inventory()
    vm.config["ipconfig0"] = "ip=10.92.0.13/24"
    service.forget(9212)
    seen = Requests(pve)
    assert (9212, "10.92.0.13") in rows(await service.inventory())
    assert [r[1] for r in seen.since() if r[1].endswith("/config")] == [
        "/api2/json/nodes/pve1/qemu/9212/config"
    ]


async def test_offline_node_is_skipped_with_a_note(
    service: IpService, pve: DemoPve, pve_client: PveClient
) -> None:
    node = "pve3"
    before = rows(await service.inventory())
    pve.set_node_offline(node)
    seen = Requests(pve)
    inventory = await service.inventory()
    assert not [r for r in seen.since() if f"/nodes/{node}/" in r[1]]
    (note,) = [n for n in inventory.notes if n.kind == "offline"]
    assert note.node == node and "offline" in note.message
    kept = {key for key, item in before.items() if item.node == node and "config: " in item.source}
    assert kept and kept <= set(rows(inventory)), "configured addresses as last read stay"
    cold = await IpService(pve_client).inventory()
    assert not [i for i in cold.items if i.node == node]


async def test_vmids_for_ip_answers_from_cache(service: IpService, pve: DemoPve) -> None:
    assert service.vmids_for_ip("10.0.20.2") == set(), "nothing cached yet"
    await service.inventory()
    seen = Requests(pve)
    cts = {c.vmid for c in pve.cts if "ip=10.0.20.2" in c.config["net0"]}
    assert cts and service.vmids_for_ip("10.0.20.2") >= cts
    assert service.vmids_for_ip("10.0.20.0/24") >= cts
    assert service.vmids_for_ip("web01") == set() and service.vmids_for_ip("10") == set()
    assert service.vmids_for_ip("10.0.999") == set()
    assert seen.since() == []


async def test_free_addresses_excludes_used_and_gateways(service: IpService) -> None:
    free = await service.free_addresses("10.0.10.0/24")
    used = {str(u.address) for u in free.used}
    taken = {str(i.address) for i in (await service.inventory("10.0.10.0/24")).items}
    assert taken and taken <= used and "10.0.10.1" in used
    assert not {str(a) for a in free.free} & used
    assert "gateway" in next(u.what for u in free.used if str(u.address) == "10.0.10.1")
    assert free.hosts == 254 and free.free_count == 254 - len(used) and not free.truncated
    assert "0" not in {str(a).rsplit(".", 1)[1] for a in free.free} and "10.0.10.255" not in map(
        str, free.free
    )
    assert "DHCP" in free.cannot_see and "other hosts" in free.cannot_see


async def test_free_addresses_caps_big_subnets(service: IpService) -> None:
    big = await service.free_addresses("10.0.0.0/8", limit=10)
    assert len(big.free) == 10 and big.truncated and big.hosts == 2**24 - 2
    v6 = await service.free_addresses("fd00:0:10::/64", limit=3)
    assert len(v6.free) == 3 and v6.truncated


async def test_free_addresses_answer_from_the_index_while_it_refreshes(
    service: IpService, pve: DemoPve, guests: Guests, clock: Clock
) -> None:
    await service.free_addresses("10.92.4.0/24")
    clock.now += 61  # past every cached answer's time to live
    pve.stall("GET", "/config", 3)
    started = time.monotonic()
    free = await service.free_addresses("10.92.4.0/24", limit=3)
    assert time.monotonic() - started < 1.5, "no config is read while the caller waits"
    assert [str(a) for a in free.free] == ["10.92.4.1", "10.92.4.2", "10.92.4.3"]
    pve.stalls.clear()
    await service.refreshed()
    guests.vm(9214, "new-one", "ip=10.92.4.2/24,gw=10.92.4.1")
    added = await service.free_addresses("10.92.4.0/24", limit=2)
    assert [str(a) for a in added.free] == ["10.92.4.3", "10.92.4.4"], "a guest never read is read at once"
    assert {str(u.address): u.vmid for u in added.used} == {"10.92.4.1": None, "10.92.4.2": 9214}


async def test_free_addresses_page_and_note_only_what_concerns_the_subnet(
    service: IpService, pve: DemoPve, guests: Guests
) -> None:
    vm = guests.vm(9215, "agent-down", "ip=10.92.5.15/24,gw=10.92.5.1", status="running")
    vm.config["agent"] = "1"
    whole = await service.free_addresses("10.92.5.0/24")
    pages = [await service.free_addresses("10.92.5.0/24", limit=100, skip=skip) for skip in (0, 100, 200)]
    assert [a for p in pages for a in p.free] == whole.free and len(whole.free) == whole.free_count == 252
    assert pages[1].more and not pages[2].more and len(pages[2].free) == 52
    assert [n.vmid for n in whole.notes if n.vmid is not None] == [9215]
    elsewhere = await service.free_addresses("10.0.10.0/24")
    assert 9215 not in {n.vmid for n in elsewhere.notes}
    assert all(n.kind not in ("dynamic", "unknown") for n in elsewhere.notes) and elsewhere.unknown_guests > 0


async def test_inventory_notes_follow_the_address_and_guest_filters(service: IpService, pve: DemoPve) -> None:
    whole = await service.inventory()
    subnet = await service.inventory("10.0.10.0/24")
    listed = {i.vmid for i in subnet.items}
    assert len(subnet.notes) < len(whole.notes) and all(n.vmid in listed for n in subnet.notes if n.vmid)
    assert whole.unknown_guests >= 4 and subnet.unknown_guests == whole.unknown_guests
    node = await service.inventory(scope=GuestScope(node="pve2", status="running"))
    on_pve2 = {g.vmid for g in [*pve.vms, *pve.cts] if g.node == "pve2" and g.status == "running"}
    assert node.items and {i.vmid for i in node.items} <= on_pve2
    assert {n.vmid for n in node.notes if n.vmid} == {n.vmid for n in whole.notes if n.vmid in on_pve2}
    assert node.unknown_guests < whole.unknown_guests


@pytest.mark.parametrize(
    ("cidr", "words"),
    [("10.0.10.5", "CIDR form"), ("fd00::/48", "larger than a /64"), ("", "give a subnet"), ("x/24", "CIDR")],
)
async def test_bad_subnet_is_refused_before_any_request(
    service: IpService, pve: DemoPve, cidr: str, words: str
) -> None:
    seen = Requests(pve)
    with pytest.raises(Invalid) as refused:
        await service.free_addresses(cidr)
    assert refused.value.field == "cidr" and words in refused.value.message
    assert seen.since() == []


async def test_guest_ips_for_one_guest(service: IpService, pve: DemoPve) -> None:
    ct = next(c for c in pve.cts if c.status == "running" and "ip=10." in c.config["net0"])
    ips = await service.guest_ips(ct.vmid)
    assert str(v4_of(ct.config["net0"])) in {str(i.address) for i in ips.items()}
    with pytest.raises(NotFound):
        await service.guest_ips(9299)


class CountingClient(PveClient):
    """The real client, noting how many requests are in flight at once."""

    in_flight = 0
    most = 0

    async def request(self, method: str, path: str, params: Any = None) -> Any:
        """Count, then send as usual."""
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            return await super().request(method, path, params)
        finally:
            self.in_flight -= 1


async def test_reads_are_bounded_concurrent(served_fake: ServedFake, pve: DemoPve) -> None:
    connection = PveConnection(
        served_fake.address, TOKEN_ID, TOKEN_SECRET, fingerprint=served_fake.fingerprint, resources_ttl=0
    )
    scale, pve.time_scale = pve.time_scale, 1.0
    pve.slow_network(0.01)  # answers take a moment, so reads overlap
    try:
        async with CountingClient(connection) as client:
            await IpService(client, concurrency=3).inventory()
    finally:
        pve.time_scale = scale
    assert client.most == 3, "reads overlap, three at a time and never more"


async def test_free_addresses_read_again_what_could_hold_the_subnet(
    service: IpService, pve: DemoPve, pve_client: PveClient, guests: Guests
) -> None:
    guests.ct(9260, "moved-in-ui", "name=eth0,bridge=vmbr0,ip=10.92.6.10/24,gw=10.92.6.1")
    elsewhere = guests.ct(9261, "other-subnet", "name=eth0,bridge=vmbr0,ip=10.92.7.10/24")
    warm = await service.free_addresses("10.92.6.0/24", limit=3)
    assert [str(a) for a in warm.free] == ["10.92.6.2", "10.92.6.3", "10.92.6.4"]
    # Someone changes the container's addresses in the Proxmox UI, a moment after the warm pass.
    net0, net1 = (
        "name=eth0,bridge=vmbr0,ip=10.92.6.11/24,gw=10.92.6.1",
        "name=eth1,bridge=vmbr0,ip=10.92.6.2/24",
    )
    await pve_client.put("/nodes/pve1/lxc/9260/config", net0=net0, net1=net1)
    seen = Requests(pve)
    free = await service.free_addresses("10.92.6.0/24", limit=3)
    assert [str(a) for a in free.free] == ["10.92.6.3", "10.92.6.4", "10.92.6.5"]
    assert {str(u.address): u.vmid for u in free.used}["10.92.6.2"] == 9260
    assert "10.92.6.10" not in {str(u.address) for u in free.used}, "its old address is free again"
    configs = [r[1] for r in seen.since() if r[1].endswith("/config")]
    assert "/api2/json/nodes/pve1/lxc/9260/config" in configs
    assert f"/api2/json/nodes/pve1/lxc/{elsewhere.vmid}/config" not in configs, "only the subnet's are read"
    assert len(configs) < warm.unknown_guests + 5, "not every guest's config is read again"


async def test_free_addresses_keep_what_a_failed_read_again_cannot_tell(
    service: IpService, pve: DemoPve, guests: Guests
) -> None:
    guests.ct(9263, "flaky", "name=eth0,bridge=vmbr0,ip=10.92.6.30/24")
    assert "10.92.6.30" in {str(u.address) for u in (await service.free_addresses("10.92.6.0/24")).used}
    pve.fail("GET", "/nodes/pve1/lxc/9263/config", 500, "got timeout")
    free = await service.free_addresses("10.92.6.0/24")
    assert {str(u.address): u.vmid for u in free.used} == {"10.92.6.30": 9263}, "still taken, never offered"
    assert any(n.vmid == 9263 and "got timeout" in n.message for n in free.notes)


async def test_reads_again_are_bounded_concurrent(served_fake: ServedFake, pve: DemoPve) -> None:
    connection = PveConnection(
        served_fake.address, TOKEN_ID, TOKEN_SECRET, fingerprint=served_fake.fingerprint, resources_ttl=0
    )
    async with CountingClient(connection) as client:
        service = IpService(client, concurrency=3)
        await service.inventory()
        await service.refreshed()
        client.most = 0
        scale, pve.time_scale = pve.time_scale, 1.0
        pve.slow_network(0.01)  # answers take a moment, so reads overlap
        try:
            free = await service.free_addresses("10.0.10.0/24")
        finally:
            pve.time_scale = scale
        await service.aclose()
    assert len({u.vmid for u in free.used if u.vmid}) > 3 and client.most == 3, "three at a time, never more"
