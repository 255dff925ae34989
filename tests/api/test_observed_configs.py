"""A configuration changed in Proxmox without Proxgate (no task says so) is noticed where Proxgate reads it anyway
(the guest page, the IP index, a change's plan): one observed event naming the keys, never their values, and
none for a change Proxgate made itself."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.api.test_actions import wait_for_event
from tests.approval_guests import People, add_vm, ask, select_rows
from tests.backup_guests import FakeApi
from tests.factories import make_token, make_user, signed_in
from tests.servers import AppServer

VMID = 9391
SECRET_VALUE = "hunter2-not-to-be-kept"


def config_events(client: httpx.Client, head: dict[str, str], vmid: int = VMID) -> list[dict[str, object]]:
    """The observed config changes of the guest, newest first."""
    answer = client.get("/api/v1/audit", params={"vmid": vmid, "operation": "config"}, headers=head)
    return list(answer.json()["items"])


def until(condition: Callable[[], object], what: str, timeout: float = 10) -> None:
    """Wait for a condition (the IP index notes what it read in the background)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} in {timeout} s"
        time.sleep(0.05)


def test_a_config_changed_beside_proxgate_is_recorded_once_with_its_keys(
    app_server: AppServer,
    settings: Settings,
    pve: DemoPve,
    fake_api: FakeApi,
    client: httpx.Client,
    scratch: None,
) -> None:
    add_vm(pve, VMID)
    head = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'viewer'))}"}
    with signed_in(app_server.url, make_user(settings, "viewer")) as browser:
        assert browser.get(f"/guests/{VMID}").status_code == 200  # the first reading
        fake_api.data(
            "PUT", f"/nodes/pve1/qemu/{VMID}/config", data={"memory": "4096", "cipassword": SECRET_VALUE}
        )
        page = browser.get(f"/guests/{VMID}")
        assert browser.get(f"/guests/{VMID}").status_code == 200  # read again: nothing new
    (event,) = config_events(client, head)
    assert event["auth_method"] == "proxmox" and event["params"] == {"changed": ["cipassword", "memory"]}
    assert "cipassword, memory changed in Proxmox, not through Proxgate" in str(event["message"])
    history = page.text.split('id="guest-history"', 1)[1]
    assert "config" in history and "observed-pill" in history
    # The API's guest detail reads the config too, and notices the next change.
    fake_api.data("PUT", f"/nodes/pve1/qemu/{VMID}/config", data={"cores": "4"})
    assert client.get(f"/api/v1/guests/{VMID}", headers=head).status_code == 200
    newest = config_events(client, head)
    assert len(newest) == 2 and newest[0]["params"] == {"changed": ["cores"]}
    stored = select_rows(settings, "SELECT fingerprints FROM guest_configs_seen WHERE vmid = :v", v=VMID)
    assert stored and SECRET_VALUE not in stored[0][0]
    assert not select_rows(
        settings, "SELECT seq FROM audit_events WHERE params LIKE :s", s=f"%{SECRET_VALUE}%"
    )


def test_the_ip_index_notices_a_change_beside_proxgate_once_and_not_proxgates_own(
    app_server: AppServer,
    settings: Settings,
    pve: DemoPve,
    fake_api: FakeApi,
    client: httpx.Client,
    crew: People,
    scratch: None,
) -> None:
    vmid, config = 9392, "/nodes/pve1/qemu/9392/config"
    vm = add_vm(pve, vmid)
    fake_api.data("PUT", config, data={"ipconfig0": "ip=10.93.92.5/24,gw=10.93.92.1"})

    def noted() -> bool:
        """Whether the last reading noted the guest's current config."""
        digest = select_rows(settings, "SELECT digest FROM guest_configs_seen WHERE vmid = :v", v=vmid)
        return digest == [(pve.qm_digest(vm),)]

    def free() -> None:
        """The free-address finder reads the configs of the guests of the subnet again, now."""
        answer = client.get("/api/v1/ips/free", params={"cidr": "10.93.92.0/24"}, headers=crew.viewer)
        assert answer.status_code == 200, answer.text

    # The finder reads what the cluster view holds: the new guest once the view has it (it is cached briefly).
    until(lambda: (free(), noted())[1], "the first reading noted")
    fake_api.data("PUT", config, data={"description": "changed in the Proxmox UI"})
    free()
    until(lambda: config_events(client, crew.viewer, vmid), "the change recorded")
    # Another reader of the same config (the guest's page) does not record it again.
    assert client.get(f"/api/v1/guests/{vmid}", headers=crew.viewer).status_code == 200
    (event,) = config_events(client, crew.viewer, vmid)
    assert event["auth_method"] == "proxmox" and event["params"] == {"changed": ["description"]}
    # A change through Proxgate is its own record, not an observed one.
    answer = ask(client, crew.alice, vmid, "configure", cores=4, digest=pve.qm_digest(vm))
    assert answer.status_code == 200, answer.text
    assert wait_for_event(client, crew.alice, answer.json()["upid"])["outcome"] == "succeeded"
    free()
    until(noted, "Proxgate's own change noted")
    assert len(config_events(client, crew.viewer, vmid)) == 1


def test_a_plan_that_reads_the_config_notices_a_change_beside_proxgate(
    app_server: AppServer,
    settings: Settings,
    pve: DemoPve,
    fake_api: FakeApi,
    client: httpx.Client,
    crew: People,
    scratch: None,
) -> None:
    vmid = 9393
    add_vm(pve, vmid)
    assert client.get(f"/api/v1/guests/{vmid}", headers=crew.viewer).status_code == 200  # the first reading
    fake_api.data("PUT", f"/nodes/pve1/qemu/{vmid}/config", data={"onboot": "1"})
    # Growing a disk reads the config first (it waits for an approval: only its plan runs now).
    answer = ask(client, crew.alice, vmid, "resize", disk="scsi0", size="+1G", reason="more room")
    assert answer.status_code in (200, 202), answer.text
    (event,) = config_events(client, crew.viewer, vmid)
    assert event["params"] == {"changed": ["onboot"]} and event["auth_method"] == "proxmox"
