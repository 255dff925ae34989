"""A configuration changed in Proxmox without Proxgate (no task says so) is noticed when the guest page reads it:
one observed event naming the keys, never their values."""

from __future__ import annotations

import httpx

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm, select_rows
from tests.backup_guests import FakeApi
from tests.factories import make_token, make_user, signed_in
from tests.servers import AppServer

VMID = 9391
SECRET_VALUE = "hunter2-not-to-be-kept"


def config_events(client: httpx.Client, head: dict[str, str]) -> list[dict[str, object]]:
    """The observed config changes of the guest, newest first."""
    answer = client.get("/api/v1/audit", params={"vmid": VMID, "operation": "config"}, headers=head)
    return list(answer.json()["items"])


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
