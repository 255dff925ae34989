"""Migration through the API: live, offline, a container's restart, HA's guests, and the targets Proxmox
refuses (its reasons, read before anything is sent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.api.test_actions import bearer, wait_for_event
from tests.approval_guests import ask, people, settle
from tests.conftest import app_settings
from tests.fakepve_thread import ServedFake
from tests.migrate_guests import (
    DEVICE_VM,
    HA_VM,
    LOCAL_VM,
    NVME_VM,
    RUNNING_CT,
    SHARED_VM,
    STOPPED_VM,
    migration_guests,
)
from tests.servers import AppServer


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """The migration test guests on pve1 (9650-9669)."""
    yield from migration_guests(pve)


@pytest.fixture
def operator(settings: Settings) -> dict[str, str]:
    """An operator's API token."""
    return bearer(settings, "operator")


def migrate(client: httpx.Client, headers: dict[str, str], vmid: int, **params: Any) -> httpx.Response:
    """POST the migrate action."""
    return client.post(f"/api/v1/guests/{vmid}/actions/migrate", json=params, headers=headers)


def posted(pve: DemoPve, since: int, suffix: str) -> list[dict[str, str]]:
    """The form bodies of the POSTs to paths ending in suffix since request number `since`."""
    return [
        dict(parse_qsl(body.decode()))
        for m, path, body in pve.requests[since:]
        if m == "POST" and path.endswith(suffix)
    ]


def trail(client: httpx.Client, headers: dict[str, str], vmid: int) -> list[dict[str, Any]]:
    """The guest's migrate events, oldest first."""
    found = client.get("/api/v1/audit", params={"vmid": vmid, "operation": "migrate"}, headers=headers)
    return list(reversed(found.json()["items"]))


def test_a_running_vm_on_shared_storage_moves_live_and_the_audit_says_where(
    client: httpx.Client, pve: DemoPve, guests: None, operator: dict[str, str]
) -> None:
    seen = len(pve.requests)

    answer = migrate(client, operator, SHARED_VM, target="pve2")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert ":qmigrate:" in body["upid"] and body["upid"].startswith("UPID:pve1:")
    assert body["description"] == f"Migrate VM {SHARED_VM} mig{SHARED_VM} from pve1 to pve2 live"
    assert posted(pve, seen, f"/qemu/{SHARED_VM}/migrate") == [{"target": "pve2", "online": "1"}]
    assert [(m, p) for m, p, _ in pve.requests[seen:] if p.endswith("/migrate")][0] == (
        "GET",
        f"/api2/json/nodes/pve1/qemu/{SHARED_VM}/migrate",
    )
    end = wait_for_event(client, operator, body["upid"])
    assert end["outcome"] == "succeeded" and end["message"] == "OK: moved from pve1 to pve2"
    assert pve.vm(SHARED_VM).node == "pve2"
    events = trail(client, operator, SHARED_VM)[-3:]  # other tests move this VM too, on the same database
    assert [e["outcome"] for e in events] == ["intent", "started", "succeeded"]
    assert events[0]["params"] == {
        "target": "pve2",
        "online": True,
        "with_local_disks": False,
        "target_storage": None,
    }
    assert events[0]["message"] == body["description"]
    listed = client.get(f"/api/v1/guests/{SHARED_VM}", headers=operator).json()
    assert listed["node"] == "pve2"


def test_a_stopped_vm_moves_offline_with_its_local_disk(
    client: httpx.Client, pve: DemoPve, guests: None, operator: dict[str, str], fake_api: Any
) -> None:
    seen = len(pve.requests)

    answer = migrate(client, operator, STOPPED_VM, target="pve3")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["description"] == f"Migrate VM {STOPPED_VM} mig{STOPPED_VM} from pve1 to pve3 offline"
    assert any("local-lvm:vm-9654-disk-0 (8 GiB) is copied to pve3" in w for w in body["warnings"])
    assert posted(pve, seen, f"/qemu/{STOPPED_VM}/migrate") == [{"target": "pve3"}]
    assert wait_for_event(client, operator, body["upid"])["message"] == "OK: moved from pve1 to pve3"
    assert any(line.endswith("copying local disk images") for line in fake_api.log(body["upid"]))
    assert pve.vm(STOPPED_VM).node == "pve3" and pve.vm(STOPPED_VM).status == "stopped"


def test_a_running_vm_with_a_local_cloud_init_drive_moves_live(
    client: httpx.Client, pve: DemoPve, guests: None, operator: dict[str, str], fake_api: Any
) -> None:
    vm = pve.vm(SHARED_VM)
    vm.config["ide2"] = "local-lvm:vm-9651-cloudinit,media=cdrom"
    pve.storages["local-lvm"]["volumes"]["vm-9651-cloudinit"] = {
        "content": "images",
        "format": "raw",
        "size": 4 * 1024**2,
        "vmid": 9651,
    }

    answer = migrate(client, operator, SHARED_VM, target="pve2")

    # QemuMigrate makes a cloud-init drive again on the target: nothing to copy, nothing to refuse.
    assert answer.status_code == 200, answer.text
    assert answer.json()["warnings"] == []
    assert wait_for_event(client, operator, answer.json()["upid"])["message"] == "OK: moved from pve1 to pve2"
    assert any(
        "found generated disk 'local-lvm:vm-9651-cloudinit'" in line
        for line in fake_api.log(answer.json()["upid"])
    )
    assert pve.vm(SHARED_VM).node == "pve2"


def test_a_running_container_moves_by_restarting(
    client: httpx.Client, pve: DemoPve, guests: None, operator: dict[str, str]
) -> None:
    seen = len(pve.requests)

    answer = migrate(client, operator, RUNNING_CT, target="pve2")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert ":vzmigrate:" in body["upid"]
    assert body["description"] == f"Migrate CT {RUNNING_CT} ct{RUNNING_CT} from pve1 to pve2 by restarting it"
    assert any("is shut down, moved and started again on pve2" in w for w in body["warnings"])
    assert posted(pve, seen, f"/lxc/{RUNNING_CT}/migrate") == [{"target": "pve2", "restart": "1"}]
    assert wait_for_event(client, operator, body["upid"])["message"] == "OK: moved from pve1 to pve2"
    assert pve.ct(RUNNING_CT).node == "pve2" and pve.ct(RUNNING_CT).status == "running"


def test_a_target_proxmox_refuses_is_refused_with_its_reason_and_nothing_sent(
    client: httpx.Client, pve: DemoPve, guests: None, operator: dict[str, str]
) -> None:
    seen = len(pve.requests)

    answer = migrate(client, operator, NVME_VM, target="pve3")
    devices = migrate(client, operator, DEVICE_VM, target="pve2")
    here = migrate(client, operator, NVME_VM, target="pve1")

    assert answer.status_code == 409
    assert answer.json() == {
        "detail": f"VM {NVME_VM} mig{NVME_VM} cannot move to pve3: storage fast-nvme, which its disks are on, is "
        "not available there (choose a target storage). Nodes it can move to: pve2.",
        "field": "target",
    }
    assert devices.status_code == 409 and "uses hostpci0, which only pve1 has" in devices.json()["detail"]
    assert here.status_code == 409 and here.json()["field"] == "target"
    assert posted(pve, seen, "/migrate") == []
    assert [e["outcome"] for e in trail(client, operator, NVME_VM)][-1] == "denied"


def test_a_running_vm_with_a_local_disk_needs_with_local_disks(
    client: httpx.Client, pve: DemoPve, guests: None, operator: dict[str, str], fake_api: Any
) -> None:
    seen = len(pve.requests)

    refused = migrate(client, operator, LOCAL_VM, target="pve2")

    assert refused.status_code == 422
    assert refused.json()["field"] == "with_local_disks"
    assert f"local-lvm:vm-{LOCAL_VM}-disk-0 (8 GiB) is on storage only pve1 has" in refused.json()["detail"]
    assert posted(pve, seen, "/migrate") == []
    answer = migrate(client, operator, LOCAL_VM, target="pve2", with_local_disks=True)
    assert answer.status_code == 200, answer.text
    assert posted(pve, seen, "/migrate") == [{"target": "pve2", "online": "1", "with-local-disks": "1"}]
    assert wait_for_event(client, operator, answer.json()["upid"])["outcome"] == "succeeded"
    assert any(", ready" in line for line in fake_api.log(answer.json()["upid"]))
    assert pve.vm(LOCAL_VM).node == "pve2"


def test_a_guest_ha_manages_is_moved_by_ha(
    client: httpx.Client, pve: DemoPve, guests: None, operator: dict[str, str]
) -> None:
    seen = len(pve.requests)

    answer = migrate(client, operator, HA_VM, target="pve3")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["upid"] is None
    assert body["description"] == f"Ask HA to migrate VM {HA_VM} mig{HA_VM} from pve1 to pve3 live"
    assert any("HA manages" in w for w in body["warnings"])
    assert posted(pve, seen, f"/cluster/ha/resources/vm:{HA_VM}/migrate") == [{"node": "pve3"}]
    assert posted(pve, seen, f"/qemu/{HA_VM}/migrate") == []
    assert pve.vm(HA_VM).node == "pve3"
    assert [e["outcome"] for e in trail(client, operator, HA_VM)] == ["intent", "succeeded"]


def test_running_without_online_is_refused_naming_the_parameter(
    client: httpx.Client, pve: DemoPve, guests: None, operator: dict[str, str]
) -> None:
    answer = migrate(client, operator, SHARED_VM, target="pve2", online=False)
    unknown = migrate(client, operator, SHARED_VM, target="pve9")

    assert answer.status_code == 422 and answer.json()["field"] == "online"
    assert unknown.status_code == 409 and unknown.json()["field"] == "target"
    assert "There is no node 'pve9'" in unknown.json()["detail"]
    assert pve.vm(SHARED_VM).node == "pve1"


def test_the_policy_can_put_migrate_under_approval(
    served_fake: ServedFake, database_url: str, tmp_path: Path, pve: DemoPve, guests: None
) -> None:
    server = AppServer(app_settings(served_fake, database_url, tmp_path, approval_operations="migrate"))
    try:
        crew = people(server.app.state.runtime.settings)
        seen = len(pve.requests)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            asked = ask(
                client, crew.alice, SHARED_VM, "migrate", target="pve3", reason="empty pve1 for repairs"
            )
            assert asked.status_code == 202, asked.text
            assert (
                asked.json()["description"] == f"Migrate VM {SHARED_VM} mig{SHARED_VM} from pve1 to pve3 live"
            )
            assert posted(pve, seen, "/migrate") == []
            rid = asked.json()["request_id"]
            client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob)
            assert settle(client, crew.bob, rid)["status"] == "succeeded"
    finally:
        server.stop()
    assert posted(pve, seen, "/migrate") == [{"target": "pve3", "online": "1"}]
    assert pve.vm(SHARED_VM).node == "pve3"
