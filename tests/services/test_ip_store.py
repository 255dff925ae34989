"""The IP index in the database: rows round-trip on SQLite and PostgreSQL, and a new service starts warm from them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest

from app.db.engine import create_engine, session_factory
from app.db.migrate import upgrade_database
from app.proxmox import PveClient
from app.proxmox.netparse import AddressRecord
from app.services.ips import IpService, IpStore
from app.services.ips.store import StoredConfig, StoredLive
from pvesim.fake import DemoPve
from tests.ip_guests import Guests, Requests
from tests.services.conftest import async_url


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IpStore]:
    """An IpStore on a new, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ips.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    upgrade_database(url)
    engine = create_engine(async_url(url))
    yield IpStore(session_factory(engine))
    await engine.dispose()


def when(seconds_ago: float) -> datetime:
    """A UTC time some seconds ago, to the microsecond as both databases keep it."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)


async def test_rows_round_trip_and_are_replaced_and_dropped(store: IpStore) -> None:
    net = {"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0", "ipconfig0": "ip=10.9.0.5/24,gw=10.9.0.1"}
    vm = StoredConfig(9250, "pve1", "qemu", {**net, "agent": "1", "digest": "a" * 40}, when(30))
    ct = StoredConfig(9251, "pve2", "lxc", {"net0": "name=eth0,ip=dhcp", "digest": "b" * 40}, when(20))
    records = [
        AddressRecord(ip_address("10.9.0.5"), 24, "eth0", "BC:24:11:00:00:01", "guest agent"),
        AddressRecord(ip_address("fe80::1"), None, "eth0", None, "guest agent"),
    ]
    live = StoredLive(9250, "pve1", "running", records, None, when(10))
    down = StoredLive(
        9251, "pve2", "running", [], ("error", "Its live interfaces could not be read"), when(5)
    )
    await store.save([vm, ct], [live, down])
    configs, lives = await store.load()
    assert fields(configs) == fields([vm, ct]) and fields(lives) == fields([live, down])
    assert {c.vmid: c.digest for c in configs} == {9250: "a" * 40, 9251: "b" * 40}

    moved = StoredConfig(9250, "pve3", "qemu", {**net, "digest": "c" * 40}, when(1))
    await store.save([moved], [], dropped=[9251])
    configs, lives = await store.load()
    assert fields(configs) == fields([moved]) and fields(lives) == fields([live])


def fields(rows: Sequence[StoredConfig | StoredLive]) -> dict[int, dict[str, object]]:
    """Each row's fields by vmid, times as UTC instants (SQLite hands back naive UTC)."""
    out = {}
    for row in rows:
        values = dict(vars(row))
        moment = values["read_at"]
        assert isinstance(moment, datetime)
        values["read_at"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        out[row.vmid] = values
    return out


async def test_a_new_service_answers_from_the_store_without_reading_configs(
    store: IpStore, pve_client: PveClient, pve: DemoPve
) -> None:
    with Guests(pve) as guests:
        guests.vm(9252, "kept-across", "ip=10.92.52.5/24,gw=10.92.52.1")
        first = IpService(pve_client, store=store, wait=30)
        whole = await first.inventory()
        assert whole.progress.complete and any(i.vmid == 9252 for i in whole.items)
        await first.aclose()  # saves what it read

        seen = Requests(pve)
        second = IpService(pve_client, store=store, wait=30)
        second.load_later()  # as the app does at start-up
        warm = await second.inventory()
        assert warm.progress.complete, "a restart answers warm from the database"
        assert {(i.vmid, str(i.address)) for i in warm.items} == {
            (i.vmid, str(i.address)) for i in whole.items
        }
        assert [r for r in seen.since() if r[1].endswith("/config")] == []
        assert not [r for r in seen.since() if "/agent/" in r[1] or r[1].endswith("/interfaces")]
        await second.aclose()

    # A guest that is gone is dropped from the store by the next pass.
    pve_client.invalidate_resources()
    third = IpService(pve_client, store=store, wait=30)
    await third.read_all(await pve_client.cluster_resources())
    await third.aclose()
    configs, _lives = await store.load()
    assert configs and 9252 not in {c.vmid for c in configs}
