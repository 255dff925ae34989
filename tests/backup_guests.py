"""Guests 9100-9199 for the storage, backup and task tests: a hostile name, backups with hostile notes,
a container without any backup; made through the fake's own API and removed afterwards."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from app.proxmox.client import PveClient, PveConnection
from pvesim.fake import DemoPve
from tests.fakepve_thread import TOKEN_ID, TOKEN_SECRET, PveApi, ServedFake

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_NOTES = "<script>alert('notes')</script> before the upgrade"
VM, CT, SLOW_VM = 9101, 9102, 9103
MISSING = 9199  # no guest has it: a vzdump of it fails
MY_RANGE = range(9100, 9200)
DAY = 86400


class FakeApi(PveApi):
    """The fake's API with the app's token, and a shortcut to start backups."""

    def vzdump(self, node: str, vmid: int, **params: Any) -> str:
        """Start a backup job; its UPID."""
        upid: str = self.data("POST", f"/nodes/{node}/vzdump", data={"vmid": str(vmid), **params})
        return upid


@dataclass
class Made:
    """What the fixture made: the backups' volume ids and the tasks' UPIDs."""

    local_backup: str
    offsite_backup: str
    backup_upid: str
    failed_upid: str


def volid_of(pve: DemoPve, storage: str, vmid: int) -> str:
    """The volume id of the (only) backup of vmid on storage."""
    names = [
        name
        for name, vol in pve.storages[storage]["volumes"].items()
        if vol.get("content") == "backup" and vol.get("vmid") == vmid
    ]
    assert len(names) == 1, names
    return f"{storage}:{names[0]}"


def add_guests(pve: DemoPve) -> None:
    """VM 9101 with the hostile name and a 4G disk on pve1; CT 9102 on pve2 that is never backed up."""
    volume = {
        "content": "images",
        "format": "raw",
        "size": 4 * 1024**3,
        "vmid": VM,
        "ctime": int(time.time()),
    }
    pve.storages["local-lvm"]["volumes"][f"vm-{VM}-disk-0"] = volume
    config = {"scsi0": f"local-lvm:vm-{VM}-disk-0,size=4G", "memory": 1024, "cores": 1}
    pve.add_vm(VM, HOSTILE_NAME, node="pve1", status="stopped", config=config)
    pve.add_ct(CT, node="pve2", status="stopped", config={"hostname": "nobackup-9102", "memory": 512})


def remove_guests(pve: DemoPve, vmids: range = MY_RANGE) -> None:
    """Take every guest and volume of these vmids (9100-9199 by default) out of the fake again."""
    for guests in (pve.vms, pve.cts):
        for guest in [g for g in guests if g.vmid in vmids]:
            guests.remove(guest)
    for store in pve.storages.values():
        volumes = store.get("volumes", {})
        for name in [n for n, vol in volumes.items() if vol.get("vmid") in vmids]:
            del volumes[name]


def api_of(served: ServedFake) -> Iterator[FakeApi]:
    """For a fixture: a client of the fake with the app's token, closed afterwards."""
    api = FakeApi(served)
    yield api
    api.close()


def backups_made(pve: DemoPve, fake_api: FakeApi) -> Iterator[Made]:
    """For a fixture: 9101 backed up to local (hostile notes) and, ten days earlier, to offsite-backup;
    9102 never; and a failed vzdump of a vmid no guest has. All removed afterwards."""
    remove_guests(pve)
    add_guests(pve)
    try:
        upid = fake_api.vzdump("pve1", VM, storage="local", **{"notes-template": HOSTILE_NOTES})
        assert fake_api.wait(upid)["exitstatus"] == "OK"
        offsite = fake_api.vzdump("pve1", VM, storage="offsite-backup", **{"notes-template": "{{guestname}}"})
        assert fake_api.wait(offsite)["exitstatus"] == "OK"
        offsite_volid = volid_of(pve, "offsite-backup", VM)
        pve.storages["offsite-backup"]["volumes"][offsite_volid.partition(":")[2]]["ctime"] -= 10 * DAY
        failed = fake_api.vzdump("pve1", MISSING, storage="local")
        assert fake_api.wait(failed)["exitstatus"] != "OK"
        time.sleep(0.6)  # the app caches /cluster/resources and the backup scan for 0.5 s in the tests
        yield Made(volid_of(pve, "local", VM), offsite_volid, upid, failed)
    finally:
        remove_guests(pve)


async def client_of(served: ServedFake) -> AsyncIterator[PveClient]:
    """For a fixture: the app's client of the fake, pinned, without a resources cache."""
    connection = PveConnection(
        served.address, TOKEN_ID, TOKEN_SECRET, fingerprint=served.fingerprint, resources_ttl=0
    )
    async with PveClient(connection) as client:
        yield client


def content_reads(pve: DemoPve, storage: str) -> list[str]:
    """The paths of the content lists of a storage the fake answered so far."""
    return [
        path
        for method, path, _ in pve.requests
        if method == "GET" and path.endswith(f"/storage/{storage}/content")
    ]
