"""Windows 11 VMs get what their setup needs (UEFI, an EFI disk, TPM 2.0, q35) and a CPU type; containers get
nesting, a VLAN tag and DNS servers; what Proxmox would refuse is refused first, naming the parameter."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.api.test_actions import bearer, wait_for_event
from tests.api.test_approval_ops import backup_of
from tests.api.test_owned_volumes import volume
from tests.api.test_provision_rules import template
from tests.backup_guests import FakeApi, remove_guests

MINE = range(8780, 8800)
WIN_ISO = "local:iso/Win11_24H2_English_x64.iso"


@pytest.fixture
def operator(settings: Settings, pve: DemoPve) -> Iterator[dict[str, str]]:
    """An operator's token headers; guests and volumes 8780-8799 are removed before and after."""
    remove_guests(pve, MINE)
    try:
        yield bearer(settings, "operator")
    finally:
        remove_guests(pve, MINE)


def created(client: httpx.Client, headers: dict[str, str], op: str, body: dict[str, object]) -> None:
    """POST the create action and wait until its task succeeded."""
    answer = client.post(f"/api/v1/actions/{op}", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    end = wait_for_event(client, headers, answer.json()["upid"])
    assert end["outcome"] == "succeeded", end


def test_a_windows_11_vm_is_created_with_uefi_tpm_2_and_q35(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    body = {"node": "pve1", "vmid": 8781, "name": "win11", "disk_storage": "local-lvm", "disk_size": 64}
    created(client, operator, "create-vm", {**body, "ostype": "win11", "iso": WIN_ISO, "cpu": "host"})
    config = pve.vm(8781).config
    assert (config["bios"], config["cpu"], config["ostype"]) == ("ovmf", "host", "win11")
    # Proxmox pins a Windows VM's q35 machine to the newest version its QEMU runs.
    assert config["machine"] == "pc-q35-10.0+pve1"
    assert config["efidisk0"].startswith("local-lvm:vm-8781-disk-") and "efitype=4m" in config["efidisk0"]
    assert "pre-enrolled-keys=1" in config["efidisk0"]
    assert config["tpmstate0"].startswith("local-lvm:vm-8781-disk-") and "version=v2.0" in config["tpmstate0"]
    created(client, operator, "create-vm", {**body, "vmid": 8782, "name": "linux"})
    linux = pve.vm(8782).config
    assert linux["cpu"] == "x86-64-v2-AES" and not {"bios", "machine", "efidisk0", "tpmstate0"} & set(linux)


def test_a_container_is_created_with_nesting_a_vlan_and_dns_servers(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    body = {
        "node": "pve1",
        "vmid": 8785,
        "hostname": "docker8785",
        "ostemplate": template(pve),
        "rootfs_storage": "local-lvm",
        "nesting": True,
        "tag": 20,
        "nameserver": "10.0.20.1, 2001:db8::53",
        "password": "s3cret-pass",
    }
    created(client, operator, "create-ct", body)
    config = pve.ct(8785).config
    assert config["features"] == "nesting=1" and config["nameserver"] == "10.0.20.1 2001:db8::53"
    assert "tag=20" in config["net0"] and str(config["unprivileged"]) == "1"


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"nesting": True, "unprivileged": False}, "nesting", "only for unprivileged containers"),
        ({"tag": 4095}, "tag", "4094"),
        ({"nameserver": "10.0.20.1/24"}, "nameserver", "without a prefix length"),
        ({"nameserver": "dns.example.com"}, "nameserver", "is not an IPv4 address"),
    ],
)
def test_container_options_proxmox_would_refuse_are_refused_first(
    client: httpx.Client,
    operator: dict[str, str],
    pve: DemoPve,
    extra: dict[str, object],
    field: str,
    words: str,
) -> None:
    body = {
        "node": "pve1",
        "vmid": 8786,
        "hostname": "bad",
        "ostemplate": template(pve),
        "rootfs_storage": "local-lvm",
    }
    since = len(pve.requests)
    answer = client.post("/api/v1/actions/create-ct", json={**body, **extra}, headers=operator)
    assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
    assert words in answer.json()["detail"]
    assert not [r for r in pve.requests[since:] if r[0] == "POST"]


def test_a_backup_is_restored_as_a_new_guest_with_its_vmid_name_and_started(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve, fake_api: FakeApi
) -> None:
    vm = pve.add_vm(8790, "orig8790", node="pve1", status="stopped", config={"memory": 1024})
    vm.config["scsi0"] = volume(pve, "vm-8790-disk-0", 8790)
    archive = backup_of(fake_api, pve, 8790)
    body = {"archive": archive, "node": "pve1", "vmid": 8791, "name": "copy8791", "start": True}
    created(client, operator, "restore", body)
    copy = pve.vm(8791)
    assert (copy.name, copy.config["name"], copy.status) == ("copy8791", "copy8791", "running")
    assert pve.vm(8790).name == "orig8790"
    ct = pve.add_ct(8792, node="pve1", status="stopped", config={"hostname": "ct8792"})
    ct.config["rootfs"] = volume(pve, "vm-8792-disk-0", 8792, content="rootdir")
    archive = backup_of(fake_api, pve, 8792)
    body = {"archive": archive, "node": "pve1", "vmid": 8793, "name": "ct-copy", "storage": "local-lvm"}
    created(client, operator, "restore", body)
    assert pve.ct(8793).config["hostname"] == "ct-copy" and pve.ct(8793).status == "stopped"
