"""Configuration edits through the API: validated against Proxmox's schema before anything is sent, pending
changes of a running VM, cloud-init with its drive regenerated, a stale digest refused in Proxmox's words, and
a removal held for another person's approval; every step audited with before and after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
import pytest

from pvesim.fake import DemoPve
from tests.api.test_actions import wait_for_event
from tests.approval_guests import People, ask, settle
from tests.configure_guests import SSH_KEY, add_ct, add_vm, guests_made


@pytest.fixture
def edits(pve: DemoPve) -> Iterator[None]:
    """A clean 8700-8759 range."""
    yield from guests_made(pve)


def config_calls(pve: DemoPve, since: int, vmid: int) -> list[tuple[str, dict[str, str]]]:
    """(method, form body) of the changes sent to the guest's config or cloud-init drive since `since`."""
    return [
        (method, dict(parse_qsl(body.decode())))
        for method, path, body in pve.requests[since:]
        if method in ("PUT", "POST") and path.rstrip("/").endswith((f"/{vmid}/config", f"/{vmid}/cloudinit"))
    ]


def audit_of(client: httpx.Client, headers: dict[str, str], vmid: int) -> list[dict[str, Any]]:
    """The guest's configure events, oldest first."""
    found = client.get("/api/v1/audit", params={"vmid": vmid, "operation": "configure"}, headers=headers)
    return list(reversed(found.json()["items"]))


def test_memory_of_a_running_vm_waits_for_a_reboot_and_the_audit_has_before_and_after(
    client: httpx.Client, pve: DemoPve, edits: None, crew: People
) -> None:
    vm = add_vm(pve, 8700)
    seen = len(pve.requests)
    answer = ask(
        client, crew.alice, 8700, "configure", memory=4096, tags="web;prod", digest=pve.qm_digest(vm)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert ":qmconfig:8700:" in body["upid"] and "reboot" in " ".join(body["warnings"])
    assert wait_for_event(client, crew.alice, body["upid"])["outcome"] == "succeeded"
    [(method, sent)] = config_calls(pve, seen, 8700)
    assert method == "POST" and sent["memory"] == "4096" and sent["digest"]
    # qemu-server: memory waits in [PENDING] without memory hot-plug; tags apply at once.
    assert vm.pending == {"memory": "4096"} and vm.config["tags"] == "web;prod"
    pending = client.get("/api/v1/guests/8700", headers=crew.alice).json()["pending"]
    assert pending == [{"key": "memory", "value": "2048", "pending": "4096", "delete": False}]
    intent = next(e for e in audit_of(client, crew.alice, 8700) if e["outcome"] == "intent")
    assert intent["params"]["changes"]["memory"] == {"before": "2048", "after": "4096"}
    assert intent["risk"] == "reversible"


def test_a_cloud_init_address_is_set_and_the_drive_regenerated_with_the_password_kept_out_of_the_audit(
    client: httpx.Client, pve: DemoPve, edits: None, crew: People
) -> None:
    vm = add_vm(pve, 8701, status="stopped")
    seen = len(pve.requests)
    answer = ask(
        client,
        crew.alice,
        8701,
        "configure",
        ipconfig0="ip=10.20.0.5/24,gw=10.20.0.1",
        cipassword="s3cret-Pass",
        sshkeys=quote(SSH_KEY, safe=""),
    )
    assert answer.status_code == 200, answer.text
    calls = config_calls(pve, seen, 8701)
    assert [m for m, _ in calls] == ["PUT", "PUT"] and calls[1][1] == {}
    assert vm.config["ipconfig0"] == "ip=10.20.0.5/24,gw=10.20.0.1" and vm.config["sshkeys"] == quote(
        SSH_KEY, safe=""
    )
    events = audit_of(client, crew.alice, 8701)
    changes = next(e for e in events if e["outcome"] == "intent")["params"]["changes"]
    assert changes["ipconfig0"] == {"before": "ip=dhcp", "after": "ip=10.20.0.5/24,gw=10.20.0.1"}
    assert "s3cret-Pass" not in str(events) and events[-1]["outcome"] == "succeeded"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"hostname": "web"}, "hostname", "does not change this key of VMs"),
        ({"net1": "virtio,bridge=vmbr0,tag=5000"}, "net1", "maximum value of 4094"),
        ({"ipconfig0": "ip=10.0.0.5"}, "ipconfig0", "ipv4 network configuration"),
        ({"balloon": 8192}, "balloon", "balloon value too large"),
        ({"delete": "unused0"}, "delete", "does not remove the key unused0"),
    ],
)
def test_a_wrong_key_or_value_is_refused_naming_it_and_nothing_is_sent(
    client: httpx.Client,
    pve: DemoPve,
    edits: None,
    crew: People,
    params: dict[str, Any],
    field: str,
    words: str,
) -> None:
    add_vm(pve, 8702, status="stopped")
    seen = len(pve.requests)
    refused = ask(client, crew.alice, 8702, "configure", **params)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field and words in refused.json()["detail"]
    assert config_calls(pve, seen, 8702) == []


def test_a_stale_digest_is_refused_in_proxmox_words_and_nothing_changes(
    client: httpx.Client, pve: DemoPve, edits: None, crew: People
) -> None:
    vm, ct = add_vm(pve, 8703), add_ct(pve, 8704)
    stale_vm, stale_ct = pve.qm_digest(vm), ct.digest()
    vm.config["cores"], ct.config["memory"] = 4, 1024  # someone else's edits meanwhile
    refused = ask(client, crew.alice, 8703, "configure", name="renamed", digest=stale_vm)
    assert refused.status_code == 409 and refused.json()["field"] == "digest"
    assert "checksum mismatch (file change by other user?)" in refused.json()["detail"]
    assert vm.config.get("name") != "renamed"
    refused = ask(client, crew.alice, 8704, "configure", hostname="renamed", digest=stale_ct)
    assert refused.status_code == 409
    assert (
        "detected modified configuration - file changed by other user? Try again." in refused.json()["detail"]
    )
    assert ct.config["hostname"] == "ct8704"
    assert audit_of(client, crew.alice, 8703)[-1]["outcome"] == "failed"


def test_removing_a_network_device_waits_for_another_persons_approval(
    client: httpx.Client, pve: DemoPve, edits: None, crew: People
) -> None:
    vm = add_vm(pve, 8705)
    asked = ask(
        client,
        crew.alice,
        8705,
        "configure",
        delete="net1",
        cipassword="Hunter2-secret",
        digest=pve.qm_digest(vm),
        reason="unused",
    )
    assert asked.status_code == 202, asked.text
    rid = asked.json()["request_id"]
    request = client.get(f"/api/v1/requests/{rid}", headers=crew.bob).json()
    assert request["risk"] == "destructive" and "Removes network device net1" in " ".join(
        request["preview"]["losses"]
    )
    assert "net1" in vm.config and "Hunter2-secret" not in str(request)
    approved = client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=crew.bob)
    assert approved.status_code == 200, approved.text
    assert settle(client, crew.bob, rid)["status"] == "succeeded"
    assert (
        "net1" not in vm.config and "net1" not in vm.pending and vm.config["cipassword"] == "Hunter2-secret"
    )
    assert "Hunter2-secret" not in str(audit_of(client, crew.bob, 8705))
    requested = next(e for e in audit_of(client, crew.bob, 8705) if e["outcome"] == "requested")
    assert requested["params"]["changes"]["net1"]["after"] is None


def test_a_container_edit_is_made_at_once_and_its_features_only_when_unprivileged(
    client: httpx.Client, pve: DemoPve, edits: None, crew: People
) -> None:
    ct = add_ct(pve, 8706)
    seen = len(pve.requests)
    answer = ask(
        client, crew.alice, 8706, "configure", hostname="web-8706", memory=1024, features="nesting=1"
    )
    assert answer.status_code == 200 and answer.json()["upid"] is None, answer.text
    assert [m for m, _ in config_calls(pve, seen, 8706)] == ["PUT"]
    assert ct.config["hostname"] == "web-8706" and int(ct.config["memory"]) == 1024
    ct.config["unprivileged"] = 0
    refused = ask(client, crew.alice, 8706, "configure", features="keyctl=1")
    assert refused.status_code == 422 and refused.json()["field"] == "features"


def test_the_catalogue_lists_configure_with_its_keys(client: httpx.Client, crew: People) -> None:
    items = client.get("/api/v1/operations", params={"limit": 100}, headers=crew.alice).json()["items"]
    op = next(o for o in items if o["name"] == "configure")
    assert {"memory", "digest", "delete", "hostname"} <= set(op["parameters"]["properties"])
    assert "^net[0-9]+$" in op["parameters"]["patternProperties"]
